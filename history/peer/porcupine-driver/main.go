// Command porcupine-driver checks one faultline peer history with Porcupine, so that
// faultline's benchmark can compare its checker with Porcupine on the same histories.
//
// Usage: porcupine-driver [-timeout-ms N] [-verbose] [-runs-min N -runs-max N -repeat-ms N] HISTORY.json
//
// The input is the JSON document the benchmark writes (see history/peer/README.md):
//
//	{"model": "cas-register" | "kv",
//	 "operations": [{"client": 0, "f": "write", "key": null, "input": 3, "output": 3,
//	                 "outcome": "ok" | "info" | "fail", "call": 120, "return": 150}, ...]}
//
// It prints one JSON line: the verdict ("ok", "violation" or "unknown"), the time Porcupine
// spent checking (check_ns, after the file was read and converted; the fastest run), every
// run's check time (runs_ns) and the time spent reading and converting the file (parse_ns).
//
// Repetition: the check runs at least -runs-min times (unless one run takes -repeat-ms or
// more) and, while all runs together took less than -repeat-ms, up to -runs-max times, in this
// one process (so a repeated run finds the process warm, as a repeated check in the benchmark
// does); the heap is collected between runs, outside the timed part.
//
// The translation keeps faultline's semantics exactly:
//   - fail operations are dropped (they did not take effect);
//   - an info operation stays open to the end of the history (its return time is after every
//     other event) and its step accepts any result: a write or cas that did not take effect
//     is linearized at the end, where nothing observes it;
//   - faultline counts events at the same time as concurrent (closed intervals); call times
//     become 2t and return times 2t+1, so Porcupine's sort by time never orders a return
//     before a call made at the same instant.
//
// Values are nil, integers, strings and lists of those; each is encoded once as a string so
// that the model compares and appends strings, as Porcupine's own key-value model does.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

type rawOperation struct {
	Client  int64           `json:"client"`
	F       string          `json:"f"`
	Key     json.RawMessage `json:"key"`
	Input   json.RawMessage `json:"input"`
	Output  json.RawMessage `json:"output"`
	Outcome string          `json:"outcome"`
	Call    int64           `json:"call"`
	Return  *int64          `json:"return"`
}

type rawHistory struct {
	Model      string         `json:"model"`
	Operations []rawOperation `json:"operations"`
}

// input is an operation's name, key and argument, encoded.
type input struct {
	f        string
	key      string
	argument string // write, append: the value; cas: the new value
	expected string // cas: the expected value
}

// output is an operation's result, encoded; known is false for an info operation.
type output struct {
	known    bool
	mismatch bool // cas: the result false (a mismatch was observed)
	value    string
}

// encode gives each value one string: "" nil, "i<n>" integer, "s<text>" string, "b0"/"b1"
// booleans, and "L" followed by "<element>," per element for a list, so that appending a list
// to a list is concatenation.
func encode(value interface{}) (string, error) {
	switch v := value.(type) {
	case nil:
		return "", nil
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return "", fmt.Errorf("expected a 64-bit integer, found %s", v)
		}
		return "i" + strconv.FormatInt(n, 10), nil
	case string:
		return "s" + v, nil
	case bool:
		if v {
			return "b1", nil
		}
		return "b0", nil
	case []interface{}:
		var text strings.Builder
		text.WriteString("L")
		for _, element := range v {
			if _, nested := element.([]interface{}); nested {
				return "", fmt.Errorf("nested lists are not supported")
			}
			encoded, err := encode(element)
			if err != nil {
				return "", err
			}
			text.WriteString(encoded)
			text.WriteString(",")
		}
		return text.String(), nil
	default:
		return "", fmt.Errorf("unsupported value %v", value)
	}
}

func decode(raw json.RawMessage) (interface{}, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	decoder := json.NewDecoder(strings.NewReader(string(raw)))
	decoder.UseNumber()
	var value interface{}
	err := decoder.Decode(&value)
	return value, err
}

func encodeRaw(raw json.RawMessage) (string, error) {
	value, err := decode(raw)
	if err != nil {
		return "", err
	}
	return encode(value)
}

// appendValue mirrors faultline's append_value: nil becomes the delta, strings concatenate,
// lists extend, a scalar is pushed onto a list. ok is false for other combinations.
func appendValue(current, delta string) (string, bool) {
	switch {
	case current == "":
		return delta, true
	case current[0] == 's' && delta != "" && delta[0] == 's':
		return current + delta[1:], true
	case current[0] == 'L' && delta != "" && delta[0] == 'L':
		return current + delta[1:], true
	case current[0] == 'L':
		return current + delta + ",", true
	default:
		return "", false
	}
}

// step is faultline's register / key-value step on one key.
func step(state interface{}, in interface{}, out interface{}) (bool, interface{}) {
	current := state.(string)
	op := in.(input)
	result := out.(output)
	switch op.f {
	case "read", "get":
		return !result.known || result.value == current, current
	case "write", "put":
		return true, op.argument
	case "delete":
		return true, ""
	case "append":
		next, ok := appendValue(current, op.argument)
		return ok, next
	case "cas":
		switch {
		case result.mismatch:
			return current != op.expected, current
		case result.known:
			if current == op.expected {
				return true, op.argument
			}
			return false, current
		case current == op.expected:
			return true, op.argument
		default:
			return true, current
		}
	}
	return false, current
}

func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := make(map[string][]porcupine.Operation)
	var keys []string
	for _, op := range history {
		key := op.Input.(input).key
		if _, seen := byKey[key]; !seen {
			keys = append(keys, key)
		}
		byKey[key] = append(byKey[key], op)
	}
	partitions := make([][]porcupine.Operation, 0, len(keys))
	for _, key := range keys {
		partitions = append(partitions, byKey[key])
	}
	return partitions
}

func model(name string, initial string) (porcupine.Model, error) {
	m := porcupine.Model{
		Init:  func() interface{} { return initial },
		Step:  step,
		Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	}
	switch name {
	case "register", "cas-register":
		return m, nil
	case "kv":
		m.Partition = partitionByKey
		return m, nil
	}
	return m, fmt.Errorf("unknown model %q (expected register, cas-register or kv)", name)
}

func convert(raw rawHistory) ([]porcupine.Operation, error) {
	var latest int64
	for _, op := range raw.Operations {
		if op.Return != nil && *op.Return > latest {
			latest = *op.Return
		}
		if op.Call > latest {
			latest = op.Call
		}
	}
	if latest >= math.MaxInt64/2-1 {
		return nil, fmt.Errorf("times must be below %d", int64(math.MaxInt64/2-1))
	}
	open := 2*latest + 3
	operations := make([]porcupine.Operation, 0, len(raw.Operations))
	for index, op := range raw.Operations {
		fail := func(what string, err error) error {
			return fmt.Errorf("operation %d: %s: %v", index, what, err)
		}
		if op.Outcome == "fail" {
			continue
		}
		if op.Outcome != "ok" && op.Outcome != "info" {
			return nil, fmt.Errorf("operation %d: outcome: expected ok, info or fail, found %q", index, op.Outcome)
		}
		in := input{f: op.F}
		var err error
		if in.key, err = encodeRaw(op.Key); err != nil {
			return nil, fail("key", err)
		}
		if op.F == "cas" {
			pair, err := decode(op.Input)
			list, isList := pair.([]interface{})
			if err != nil || !isList || len(list) != 2 {
				return nil, fmt.Errorf("operation %d: input: expected [expected, new]", index)
			}
			if in.expected, err = encode(list[0]); err != nil {
				return nil, fail("input", err)
			}
			if in.argument, err = encode(list[1]); err != nil {
				return nil, fail("input", err)
			}
		} else if in.argument, err = encodeRaw(op.Input); err != nil {
			return nil, fail("input", err)
		}
		out := output{known: op.Outcome == "ok"}
		if out.known {
			if op.F == "cas" && string(op.Output) == "false" {
				out.mismatch = true
			} else if out.value, err = encodeRaw(op.Output); err != nil {
				return nil, fail("output", err)
			}
		}
		returned := open
		if out.known {
			if op.Return == nil {
				return nil, fmt.Errorf("operation %d: return: expected a time for an ok operation", index)
			}
			returned = 2**op.Return + 1
		}
		operations = append(operations, porcupine.Operation{
			ClientId: int(op.Client),
			Input:    in,
			Call:     2 * op.Call,
			Output:   out,
			Return:   returned,
		})
	}
	return operations, nil
}

// repeated runs check until the repetition rule (see the package comment) says to stop and
// returns the verdict of every run and each run's check time.
func repeated(check func() porcupine.CheckResult, runsMin, runsMax int, repeatFor time.Duration) ([]porcupine.CheckResult, []time.Duration) {
	var results []porcupine.CheckResult
	var times []time.Duration
	var total time.Duration
	for {
		runtime.GC()
		started := time.Now()
		result := check()
		elapsed := time.Since(started)
		results = append(results, result)
		times = append(times, elapsed)
		total += elapsed
		runs := len(times)
		again := elapsed < repeatFor && runs < runsMax && (runs < runsMin || total < repeatFor)
		if !again {
			return results, times
		}
	}
}

func run() error {
	timeoutMs := flag.Int64("timeout-ms", 0, "give up (verdict unknown) after this many milliseconds; 0: never")
	verbose := flag.Bool("verbose", false, "use CheckOperationsVerbose (also computes partial linearizations)")
	runsMin := flag.Int("runs-min", 1, "check at least this many times (unless one run takes -repeat-ms or more)")
	runsMax := flag.Int("runs-max", 1, "check at most this many times")
	repeatMs := flag.Int64("repeat-ms", 0, "check again while all runs together took less than this many milliseconds")
	flag.Parse()
	if flag.NArg() != 1 || *runsMin < 1 || *runsMax < *runsMin {
		return fmt.Errorf("usage: porcupine-driver [-timeout-ms N] [-verbose] [-runs-min N -runs-max N -repeat-ms N] HISTORY.json (1 <= runs-min <= runs-max)")
	}
	path := flag.Arg(0)
	parseStarted := time.Now()
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	var raw rawHistory
	if err := json.NewDecoder(bufio.NewReader(file)).Decode(&raw); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	m, err := model(raw.Model, "")
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	operations, err := convert(raw)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	parse := time.Since(parseStarted)
	timeout := time.Duration(*timeoutMs) * time.Millisecond
	check := func() porcupine.CheckResult {
		if *verbose {
			result, _ := porcupine.CheckOperationsVerbose(m, operations, timeout)
			return result
		}
		return porcupine.CheckOperationsTimeout(m, operations, timeout)
	}
	results, times := repeated(check, *runsMin, *runsMax, time.Duration(*repeatMs)*time.Millisecond)
	names := map[porcupine.CheckResult]string{
		porcupine.Ok:      "ok",
		porcupine.Illegal: "violation",
		porcupine.Unknown: "unknown",
	}
	fastest := times[0]
	runsNs := make([]string, len(times))
	for index, elapsed := range times {
		if results[index] != results[0] {
			return fmt.Errorf("%s: run %d gave %s, run 1 gave %s", path, index+1, names[results[index]], names[results[0]])
		}
		if elapsed < fastest {
			fastest = elapsed
		}
		runsNs[index] = strconv.FormatInt(elapsed.Nanoseconds(), 10)
	}
	fmt.Printf("{\"verdict\":%q,\"operations\":%d,\"check_ns\":%d,\"runs_ns\":[%s],\"parse_ns\":%d}\n",
		names[results[0]], len(operations), fastest.Nanoseconds(), strings.Join(runsNs, ","), parse.Nanoseconds())
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "porcupine-driver:", err)
		os.Exit(3)
	}
}

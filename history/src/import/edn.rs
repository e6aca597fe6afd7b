//! A small EDN reader for the subset Jepsen histories use: nil, booleans, integers, floats
//! (rejected later), strings, characters, keywords, symbols, vectors, lists, sets, maps,
//! comments, discards (`#_`) and tagged literals (the tag is dropped).

/// One EDN form.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    /// Kept as text: histories must not carry floats, the caller reports it.
    Float(String),
    Str(String),
    /// Without the leading colon.
    Keyword(String),
    Symbol(String),
    /// Vectors, lists and sets.
    Seq(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

/// Where and why the text is not EDN.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub expected: String,
}

/// Bound on nesting, so that hostile input cannot exhaust the stack.
const DEPTH_MAX: usize = 64;

pub(crate) struct Reader<'a> {
    text: &'a [u8],
    position: usize,
    line: usize,
    /// Set while reading the items of a top-level vector or list.
    closing: Option<u8>,
}

fn is_delimiter(byte: u8) -> bool {
    byte.is_ascii_whitespace() || b",()[]{}\";".contains(&byte)
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str, first_line: usize) -> Reader<'a> {
        Reader {
            text: text.as_bytes(),
            position: 0,
            line: first_line,
            closing: None,
        }
    }

    fn error<T>(&self, expected: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            line: self.line,
            expected: expected.into(),
        })
    }

    fn skip_blank(&mut self) {
        while let Some(&byte) = self.text.get(self.position) {
            match byte {
                b'\n' => self.line += 1,
                b';' => {
                    while self
                        .text
                        .get(self.position)
                        .is_some_and(|byte| *byte != b'\n')
                    {
                        self.position += 1;
                    }
                    continue;
                }
                _ if byte.is_ascii_whitespace() || byte == b',' => {}
                _ => return,
            }
            self.position += 1;
        }
    }

    /// If the input is one vector or list, steps inside it so that `next_form` yields its
    /// items (with their own lines) and `None` at its closing bracket.
    pub(crate) fn enter_top_level_seq(&mut self) -> bool {
        self.skip_blank();
        match self.text.get(self.position) {
            Some(b'[') => self.closing = Some(b']'),
            Some(b'(') => self.closing = Some(b')'),
            _ => return false,
        }
        self.position += 1;
        true
    }

    /// The next top-level form and the line it starts on, or `None` at the end.
    pub(crate) fn next_form(&mut self) -> Result<Option<(usize, Edn)>, SyntaxError> {
        self.skip_blank();
        if let Some(closing) = self.closing {
            match self.text.get(self.position) {
                Some(byte) if *byte == closing => {
                    self.position += 1;
                    self.closing = None;
                    self.skip_blank();
                    return match self.position < self.text.len() {
                        true => self.error("nothing after the closing bracket"),
                        false => Ok(None),
                    };
                }
                None => {
                    return self.error(format!("`{}` before the end of the input", closing as char))
                }
                Some(_) => {}
            }
        }
        if self.position >= self.text.len() {
            return Ok(None);
        }
        let line = self.line;
        Ok(Some((line, self.form(0)?)))
    }

    fn form(&mut self, depth: usize) -> Result<Edn, SyntaxError> {
        if depth > DEPTH_MAX {
            return self.error(format!("at most {DEPTH_MAX} levels of nesting"));
        }
        self.skip_blank();
        let Some(&byte) = self.text.get(self.position) else {
            return self.error("a form, found the end of the input");
        };
        match byte {
            b'[' | b'(' => {
                self.position += 1;
                Ok(Edn::Seq(
                    self.items(if byte == b'[' { b']' } else { b')' }, depth)?,
                ))
            }
            b'{' => {
                self.position += 1;
                self.map(depth)
            }
            b'#' => self.dispatch(depth),
            b'"' => self.string(),
            b'\\' => {
                let token = self.token(1);
                Ok(Edn::Str(
                    token.chars().next().map(String::from).unwrap_or_default(),
                ))
            }
            b')' | b']' | b'}' => self.error(format!("a form, found `{}`", byte as char)),
            _ => self.atom(),
        }
    }

    fn items(&mut self, close: u8, depth: usize) -> Result<Vec<Edn>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.text.get(self.position) {
                Some(&byte) if byte == close => {
                    self.position += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.form(depth + 1)?),
                None => {
                    return self.error(format!("`{}` before the end of the input", close as char))
                }
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Edn, SyntaxError> {
        let items = self.items(b'}', depth)?;
        if items.len() % 2 != 0 {
            return self.error("a map with a value for every key");
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            pairs.push((key, value));
        }
        Ok(Edn::Map(pairs))
    }

    fn dispatch(&mut self, depth: usize) -> Result<Edn, SyntaxError> {
        match self.text.get(self.position + 1) {
            Some(b'{') => {
                self.position += 2;
                Ok(Edn::Seq(self.items(b'}', depth)?))
            }
            Some(b'_') => {
                self.position += 2;
                self.form(depth + 1)?;
                self.form(depth)
            }
            Some(_) => {
                let tag = self.token(1);
                if tag.is_empty() {
                    return self.error("a tag after `#`");
                }
                self.form(depth + 1)
            }
            None => self.error("a form after `#`"),
        }
    }

    /// Reads a token starting `skip` bytes ahead, up to a delimiter.
    fn token(&mut self, skip: usize) -> String {
        self.position += skip;
        let start = self.position;
        while self
            .text
            .get(self.position)
            .is_some_and(|byte| !is_delimiter(*byte))
        {
            self.position += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.position]).into_owned()
    }

    fn string(&mut self) -> Result<Edn, SyntaxError> {
        self.position += 1;
        let mut bytes = Vec::new();
        loop {
            let Some(&byte) = self.text.get(self.position) else {
                return self.error("a closing `\"`");
            };
            self.position += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let escaped = self.text.get(self.position).copied();
                    self.position += 1;
                    bytes.push(match escaped {
                        Some(b'n') => b'\n',
                        Some(b't') => b'\t',
                        Some(b'r') => b'\r',
                        Some(other @ (b'"' | b'\\')) => other,
                        _ => return self.error("an escape \\n, \\t, \\r, \\\" or \\\\"),
                    });
                }
                b'\n' => {
                    self.line += 1;
                    bytes.push(byte);
                }
                _ => bytes.push(byte),
            }
        }
        Ok(Edn::Str(String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn atom(&mut self) -> Result<Edn, SyntaxError> {
        let token = self.token(0);
        if let Some(keyword) = token.strip_prefix(':') {
            return if keyword.is_empty() {
                self.error("a keyword name after `:`")
            } else {
                Ok(Edn::Keyword(keyword.to_string()))
            };
        }
        Ok(match token.as_str() {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ if token.starts_with(|c: char| c.is_ascii_digit())
                || (token.len() > 1 && token.starts_with(['-', '+'])) =>
            {
                let digits = token.trim_end_matches('N');
                match digits.parse::<i64>() {
                    Ok(int) => Edn::Int(int),
                    Err(_) if digits.parse::<f64>().is_ok() || digits.ends_with('M') => {
                        Edn::Float(token)
                    }
                    Err(_) => return self.error(format!("a number, found `{token}`")),
                }
            }
            _ if token.is_empty() => return self.error("a form"),
            _ => Edn::Symbol(token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> Result<Vec<Edn>, SyntaxError> {
        let mut reader = Reader::new(text, 1);
        let mut forms = Vec::new();
        while let Some((_, form)) = reader.next_form()? {
            forms.push(form);
        }
        Ok(forms)
    }

    #[test]
    fn reads_the_history_subset() {
        let forms = read_all("; comment\n{:process 0, :type :invoke, :f :cas, :value [1 2]}\n#{1} (a \"s\\n\") #_ 5 #inst \"x\" -3 2.5 7N").unwrap();
        let map = Edn::Map(vec![
            (Edn::Keyword("process".into()), Edn::Int(0)),
            (Edn::Keyword("type".into()), Edn::Keyword("invoke".into())),
            (Edn::Keyword("f".into()), Edn::Keyword("cas".into())),
            (
                Edn::Keyword("value".into()),
                Edn::Seq(vec![Edn::Int(1), Edn::Int(2)]),
            ),
        ]);
        assert_eq!(forms[0], map);
        assert_eq!(forms[1], Edn::Seq(vec![Edn::Int(1)]));
        assert_eq!(
            forms[2],
            Edn::Seq(vec![Edn::Symbol("a".into()), Edn::Str("s\n".into())])
        );
        assert_eq!(
            forms[3..],
            [
                Edn::Str("x".into()),
                Edn::Int(-3),
                Edn::Float("2.5".into()),
                Edn::Int(7)
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(read_all("{:a 1}\n\n{:a").unwrap_err().line, 3);
        assert_eq!(
            read_all("[1 2\n").unwrap_err().expected,
            "`]` before the end of the input"
        );
        assert!(read_all("{:a}").is_err());
        assert!(read_all("\"open").is_err());
        assert!(read_all(&"[".repeat(100)).is_err());
    }
}

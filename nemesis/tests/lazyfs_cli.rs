//! `faultline lazyfs` as a user runs it: mount, drive it through the control socket, stop
//! it with Ctrl-C (SIGINT) and find nothing left mounted and every write persisted.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nemesis::lazyfs::{force_unmount, is_mounted};

/// Kills and reaps the server and removes its mount if the test fails midway.
struct Server {
    child: Child,
    mount_point: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = force_unmount(&self.mount_point);
    }
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn command(socket: &Path, line: &str) -> String {
    let mut stream = UnixStream::connect(socket).expect("connect to the control socket");
    writeln!(stream, "{line}").expect("send");
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .expect("answer");
    answer
}

#[test]
fn serve_control_and_unmount_on_ctrl_c() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: /dev/fuse is missing, the lazy filesystem cannot be mounted here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (backing, mount_point, socket) = (
        dir.path().join("b"),
        dir.path().join("m"),
        dir.path().join("ctl"),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["lazyfs", "--seed", "5", "--backing"])
        .arg(&backing)
        .arg("--mount")
        .arg(&mount_point)
        .arg("--control")
        .arg(&socket)
        .arg("--fault-log")
        .arg(dir.path().join("faults.jsonl"))
        .stdin(Stdio::null())
        .spawn()
        .expect("start faultline lazyfs");
    let mut server = Server {
        child,
        mount_point: mount_point.clone(),
    };
    wait_until("the mount and the socket", || {
        is_mounted(&mount_point) && socket.exists()
    });

    std::fs::write(mount_point.join("lost"), b"never synced").expect("write");
    let answer = command(&socket, "power-cut");
    assert!(answer.starts_with("ok {\"seed\":5,"), "{answer}");
    assert!(command(&socket, "inject fsync-eio ** 1").starts_with("ok"));
    assert!(command(&socket, "frobnicate").starts_with("error control command \"frobnicate\""));
    assert!(command(&socket, "heal").starts_with("ok"));
    std::fs::write(mount_point.join("maybe"), b"unsynced").expect("write");
    let answer = command(&socket, "crash-states");
    let states: serde_json::Value =
        serde_json::from_str(answer.trim_start_matches("ok ")).expect("json");
    let count = states["states"].as_array().expect("states").len();
    assert!(count >= 2, "{answer}");
    let answer = command(&socket, &format!("power-cut-state {count}"));
    assert!(
        answer.starts_with("error") && answer.contains(&format!("only {count}")),
        "{answer}"
    );
    assert!(command(&socket, "power-cut-state 0").starts_with("ok"));
    assert_eq!(
        std::fs::read(mount_point.join("maybe")).expect("state 0 keeps all"),
        b"unsynced"
    );
    std::fs::write(mount_point.join("kept"), b"clean shutdown persists").expect("write");

    // SAFETY: sending SIGINT to the child we spawned.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGINT) };
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(!is_mounted(&mount_point), "left mounted");
    assert!(!socket.exists(), "socket file left behind");
    assert_eq!(
        std::fs::read(backing.join("kept")).expect("persisted"),
        b"clean shutdown persists"
    );
}

/// Exited `fusermount3` helpers of this process not yet waited for.
fn zombie_helpers() -> usize {
    let mut count = 0;
    for task in std::fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
    {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in children.split_whitespace() {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            count += usize::from(stat.contains("(fusermount3) Z"));
        }
    }
    count
}

#[test]
fn repeated_mounts_leave_no_pile_of_zombie_helpers() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: /dev/fuse is missing, the lazy filesystem cannot be mounted here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for round in 0..4 {
        let options = nemesis::lazyfs::LazyFsOptions::new(
            dir.path().join("b"),
            dir.path().join(format!("m{round}")),
        );
        let mount = nemesis::lazyfs::LazyFs::mount(options).expect("mount");
        std::fs::write(mount.mount_point().join("f"), b"x").expect("write");
        mount.unmount().expect("unmount");
    }
    assert!(
        zombie_helpers() <= 1,
        "{} zombie fusermount3 helpers",
        zombie_helpers()
    );
}

//! The command line: `check` prints every problem with its place (snapshot-tested per broken
//! fixture), `render` prints the documents, and the server stops cleanly on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, root, wait_listening};

fn widgetgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_widgetgate"));
    cmd.current_dir(root());
    cmd
}

#[test]
fn check_reports_every_problem_of_each_broken_fixture() {
    let dir = root().join("tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("invalid fixtures")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let out = widgetgate()
            .args(["check", &format!("tests/fixtures/invalid/{name}")])
            .output()
            .expect("run check");
        assert_eq!(out.status.code(), Some(1), "{name} should fail the check");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        for line in stdout.lines() {
            assert!(
                line.starts_with("tests/fixtures/invalid/"),
                "{name}: `{line}` is not file:line:col"
            );
        }
        insta::assert_snapshot!(name.trim_end_matches(".yaml").to_string(), stdout);
    }
}

#[test]
fn check_passes_valid_configs_and_render_prints_json() {
    let out = widgetgate()
        .args(["check", "tests/fixtures/valid/every_source.yaml"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = widgetgate()
        .args([
            "render",
            "widgets",
            "tests/fixtures/valid/every_source.yaml",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("widgets.json");
    assert_eq!(v["params_echo"]["endpoint"], "params_echo");
    let out = widgetgate()
        .args(["render", "apps", "tests/fixtures/valid/apps_file.yaml"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("apps.json");
    assert_eq!(v[0]["name"], "From a file");
}

#[test]
fn serve_refuses_a_broken_config_and_stops_on_sigterm() {
    let out = widgetgate()
        .args([
            "--config",
            "tests/fixtures/invalid/two_sources.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("two_sources.yaml:"),
        "errors name the file"
    );

    let port = free_port();
    let mut child = widgetgate()
        .args([
            "--config",
            "tests/fixtures/valid/every_source.yaml",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_listening(port);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(code) = child.try_wait().expect("wait") {
            assert!(code.success(), "exit after SIGTERM: {code}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `serve` process on `every_source.yaml` with JSON logs; killed if a test fails first.
struct Serving {
    child: Option<std::process::Child>,
    port: u16,
}

impl Serving {
    /// Starts it with `env` added and `removed` taken out of the environment.
    fn start(env: &[(&str, &str)], removed: &[&str]) -> Serving {
        let port = free_port();
        let mut cmd = widgetgate();
        cmd.args([
            "--config",
            "tests/fixtures/valid/every_source.yaml",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--watch",
            "off",
            "--log-format",
            "json",
        ])
        .envs(env.iter().copied())
        .stderr(Stdio::piped());
        for name in removed {
            cmd.env_remove(name);
        }
        let serving = Serving {
            child: Some(cmd.spawn().expect("spawn")),
            port,
        };
        wait_listening(port);
        serving
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Stops it with SIGTERM and returns its log.
    fn stop(mut self) -> String {
        let child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "exit after SIGTERM: {}", out.status);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs widgetgate with `args`, which it must refuse as a usage error (exit 2); its stderr.
fn refused(args: &[&str]) -> String {
    let out = widgetgate().args(args).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn idle_spin_is_bounded_and_an_idle_gateway_does_not_keep_spinning() {
    let stderr = refused(&["--idle-spin", "1001", "check"]);
    assert!(
        stderr.contains("'1001'") && stderr.contains("--idle-spin") && stderr.contains("0..=1000"),
        "{stderr}"
    );

    let log = Serving::start(&[], &["WIDGETGATE_IDLE_SPIN_US"]).stop();
    assert!(log.contains(r#""idle_spin_us":20"#), "the default: {log}");
    let log = Serving::start(&[("WIDGETGATE_IDLE_SPIN_US", "0")], &[]).stop();
    assert!(log.contains(r#""idle_spin_us":0"#), "turned off: {log}");

    // The longest spin allowed: the threads still answer, and once idle they sleep.
    let serving = Serving::start(&[("WIDGETGATE_IDLE_SPIN_US", "1000")], &[]);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", serving.port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    #[cfg(target_os = "linux")]
    {
        // utime + stime of the whole process, in clock ticks (100 per second here).
        let cpu = || {
            let stat =
                std::fs::read_to_string(format!("/proc/{}/stat", serving.pid())).expect("stat");
            let fields: Vec<&str> = stat
                .rsplit(") ")
                .next()
                .expect("fields")
                .split(' ')
                .collect();
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
        };
        std::thread::sleep(Duration::from_millis(200));
        let before = cpu();
        std::thread::sleep(Duration::from_secs(2));
        let used = cpu() - before;
        assert!(used <= 20, "an idle gateway used {used} ticks in 2 s");
    }
    let log = serving.stop();
    assert!(log.contains(r#""idle_spin_us":1000"#), "{log}");
}

#[test]
fn serve_runs_as_many_threads_as_asked_and_refuses_zero() {
    let stderr = refused(&["--threads", "0", "check"]);
    assert!(
        stderr.contains("'0'") && stderr.contains("--threads"),
        "{stderr}"
    );

    let serving = Serving::start(&[("WIDGETGATE_THREADS", "3")], &[]);
    // The runtime's worker threads exist from the start; nothing has needed a blocking thread
    // (which would share the name) yet.
    #[cfg(target_os = "linux")]
    {
        let named = std::fs::read_dir(format!("/proc/{}/task", serving.pid()))
            .expect("tasks")
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == "serve")
            })
            .count();
        assert_eq!(named, 3, "threads named `serve`");
    }
    let log = serving.stop();
    assert!(
        log.contains(r#""threads":3"#),
        "the start line says how many: {log}"
    );
}

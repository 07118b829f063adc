//! The command line: `check` prints every problem with its place (snapshot-tested per broken
//! fixture), `render` prints the documents, and the server stops cleanly on SIGTERM.

mod common;

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

#[test]
fn serve_runs_as_many_threads_as_asked_and_refuses_zero() {
    let out = widgetgate()
        .args(["--threads", "0", "check"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'0'") && stderr.contains("--threads"),
        "{stderr}"
    );

    let port = free_port();
    let child = widgetgate()
        .args([
            "--config",
            "tests/fixtures/valid/every_source.yaml",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--watch",
            "off",
            "--log-format",
            "json",
        ])
        .env("WIDGETGATE_THREADS", "3")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_listening(port);
    // The runtime's worker threads exist from the start; nothing has needed a blocking thread
    // (which would share the name) yet.
    #[cfg(target_os = "linux")]
    {
        let serving = std::fs::read_dir(format!("/proc/{}/task", child.id()))
            .expect("tasks")
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == "serve")
            })
            .count();
        assert_eq!(serving, 3, "threads named `serve`");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "exit after SIGTERM: {}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(r#""threads":3"#),
        "the start line says how many: {log}"
    );
}

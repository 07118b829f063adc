//! Hot reload benchmark (run it with `bench/reload`): how long from saving gateway.yaml until
//! the new content is served, with the default debounce, and how long building a snapshot of a
//! generated 1,000-widget config takes.
//!
//! Targets: save-to-served under 300 ms; a 1,000-widget snapshot under 100 ms.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use widgetgate::reload::{self, HotReload};
use widgetgate::shared::Shared;

/// Rounds per measurement (override with the first argument).
const DEFAULT_ROUNDS: usize = 20;

/// Widgets in the large config.
const WIDGETS: usize = 1000;

/// Pause between saves, so each is debounced and reloaded on its own.
const SETTLE: Duration = Duration::from_millis(300);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => DEFAULT_ROUNDS,
    };
    if rounds == 0 {
        return Err("rounds must be at least 1".into());
    }
    println!(
        "widgetgate hot reload benchmark: {rounds} rounds, debounce {} ms\n",
        reload::DEFAULT_DEBOUNCE.as_millis()
    );

    let large = tempfile::tempdir()?;
    let large_config = write_large(large.path())?;
    let (mut builds, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (started, cpu_before) = (Instant::now(), thread_cpu());
        let loaded = widgetgate::snapshot::load(&large_config);
        builds.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_before, thread_cpu()) {
            cpu.push(after.saturating_sub(before));
        }
        if let Err(diags) = loaded {
            return Err(format!("the generated config does not load:\n{diags}").into());
        }
    }
    let what = format!("snapshot build, {WIDGETS} widgets (read + validate + compile)");
    report(&what, &mut builds, Duration::from_millis(100));
    if !cpu.is_empty() {
        report(
            "  the same, CPU time of the building thread (other load on the machine excluded)",
            &mut cpu,
            Duration::from_millis(100),
        );
    }

    let small = tempfile::tempdir()?;
    let small_config = small.path().join("gateway.yaml");
    std::fs::write(&small_config, small_text(0))?;
    let mut latencies = save_to_served(&small_config, rounds, small_text).await?;
    report(
        "save-to-served, 1 widget (atomic save -> new widgets.json)",
        &mut latencies,
        Duration::from_millis(300),
    );

    let mut latencies = save_to_served(&large_config, rounds, |v| large_text(v, WIDGETS)).await?;
    report(
        &format!("save-to-served, {WIDGETS} widgets"),
        &mut latencies,
        Duration::from_millis(300),
    );
    Ok(())
}

/// Serves `config` with default hot reload, then saves versions 1..=rounds of `text` and times
/// each until widgets.json carries the new version.
async fn save_to_served(
    config: &Path,
    rounds: usize,
    text: impl Fn(usize) -> String,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let shared = Arc::new(Shared::default());
    let (snap, _) = widgetgate::snapshot::load_with(config, &shared)
        .map_err(|d| format!("{} does not load:\n{d}", config.display()))?;
    let store = widgetgate::store(snap);
    let hot = HotReload::start(config, store.clone(), shared.clone(), Default::default())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/widgets.json", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(widgetgate::run(listener, store, None, async {
        let _ = stopped.await;
    }));
    println!(
        "  (watching with {} events)",
        shared.reload.report().backend.as_str()
    );

    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    for version in 1..=rounds {
        let marker = format!("v{version}\"");
        // Poll the way a browser revalidates: 304s are tiny, so the poller does not compete
        // with the reload for the CPU by fetching a large widgets.json every millisecond.
        let current = client.get(&url).send().await?;
        let etag = current
            .headers()
            .get("etag")
            .cloned()
            .ok_or("widgets.json has no ETag")?;
        let tmp = config.with_extension("yaml.tmp");
        std::fs::write(&tmp, text(version))?;
        let saved = Instant::now();
        std::fs::rename(&tmp, config)?;
        loop {
            let resp = client
                .get(&url)
                .header("If-None-Match", etag.clone())
                .send()
                .await?;
            let body = resp.text().await?;
            if body.contains(&marker) {
                latencies.push(saved.elapsed());
                break;
            }
            if saved.elapsed() > Duration::from_secs(10) {
                return Err(format!("version {version} never served").into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(SETTLE).await;
    }
    drop(hot);
    let _ = stop.send(());
    server.await?;
    Ok(latencies)
}

fn small_text(version: usize) -> String {
    format!(
        "widgets:\n  hello:\n    name: Hello v{version}\n    description: Benchmark\n    \
         type: markdown\n    static: \"v{version}\"\n"
    )
}

/// Writes the large config (and the files its widgets read) into `dir`.
fn write_large(dir: &Path) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir.join("widgets"))?;
    for i in 0..10 {
        let rows: Vec<String> = (0..20)
            .map(|r| {
                format!(
                    "{{\"symbol\": \"S{i}{r}\", \"price\": {r}.5, \"volume\": {}}}",
                    r * 100
                )
            })
            .collect();
        std::fs::write(
            dir.join(format!("widgets/rows_{i}.json")),
            format!("[{}]", rows.join(", ")),
        )?;
    }
    let config = dir.join("gateway.yaml");
    std::fs::write(&config, large_text(0, WIDGETS))?;
    Ok(config)
}

/// A config of `count` widgets in three kinds: inline tables, markdown templates with params,
/// and tables read from files. The first widget's name carries the version.
fn large_text(version: usize, count: usize) -> String {
    let mut out = String::from("widgets:\n");
    for i in 0..count {
        let name = if i == 0 {
            format!("Widget v{version}")
        } else {
            format!("Widget {i}")
        };
        out.push_str(&format!(
            "  w{i}:\n    name: {name}\n    description: Generated widget {i}\n    \
             category: Bench\n    gridData: {{ w: 20, h: 8 }}\n"
        ));
        match i % 3 {
            0 => out.push_str(
                "    type: table\n    static:\n      - { symbol: AAPL, price: 1.5 }\n      \
                 - { symbol: MSFT, price: 2.5 }\n",
            ),
            1 => out.push_str(
                "    type: markdown\n    params:\n      \
                 - { paramName: symbol, value: AAPL, label: Symbol, type: text }\n      \
                 - { paramName: days, value: 30, label: Days, type: number }\n    \
                 template: \"# {{ symbol }} over {{ days }} days\"\n",
            ),
            _ => out.push_str(&format!(
                "    type: table\n    file: widgets/rows_{}.json\n",
                i % 10
            )),
        }
    }
    out
}

/// CPU time the current thread has used (Linux: /proc/thread-self/schedstat, in ns).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Prints min / median / p90 / max of `samples` against `target`.
fn report(what: &str, samples: &mut [Duration], target: Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = at(0.5);
    println!(
        "{what}\n  min {:.1} ms, median {:.1} ms, p90 {:.1} ms, max {:.1} ms (target < {} ms: {})\n",
        ms(samples[0]),
        ms(median),
        ms(at(0.9)),
        ms(samples[samples.len() - 1]),
        target.as_millis(),
        if median < target { "met" } else { "MISSED" }
    );
}

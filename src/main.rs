//! The `widgetgate` command line: serve, check, render, healthcheck.

mod healthcheck;

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tokio::net::TcpListener;
use widgetgate::arrivals::Arrivals;
use widgetgate::diag::Diagnostics;
use widgetgate::idle;
use widgetgate::reload::{self, HotReload, watch::WatchMode};
use widgetgate::shared::Shared;
use widgetgate::snapshot;

/// One YAML file in, a complete OpenBB Workspace custom backend out.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The config file to serve.
    #[arg(long, short, default_value = "gateway.yaml", env = "WIDGETGATE_CONFIG")]
    config: PathBuf,
    /// Address to listen on (overrides `server.listen`).
    #[arg(long, short, env = "WIDGETGATE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Log format on stderr; levels come from RUST_LOG (default `info`).
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "WIDGETGATE_LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// How edits are noticed for hot reload; `off` reloads on SIGHUP only.
    #[arg(long, value_enum, default_value_t = WatchMode::Auto, env = "WIDGETGATE_WATCH")]
    watch: WatchMode,
    /// Threads that serve requests (default: one per CPU this process may use, quotas counted).
    #[arg(long, env = "WIDGETGATE_THREADS")]
    threads: Option<NonZeroUsize>,
    /// Microseconds a serving thread out of work yields the CPU before it sleeps (0: sleep at
    /// once). Saves a wake-up per request when the client shares the CPUs; work arriving
    /// meanwhile waits for the spin to end.
    #[arg(
        long,
        env = "WIDGETGATE_IDLE_SPIN_US",
        value_name = "MICROSECONDS",
        default_value_t = idle::DEFAULT_SPIN.as_micros() as u64,
        value_parser = clap::value_parser!(u64).range(0..=idle::MAX_SPIN.as_micros() as u64)
    )]
    idle_spin: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the config (the default).
    Serve,
    /// Validate a config and print every problem as file:line:col; exit 1 on any error.
    Check {
        /// The config file (default: --config).
        path: Option<PathBuf>,
    },
    /// Write a self-signed HTTPS certificate for localhost and print how to use it.
    Cert {
        /// The folder to write widgetgate-cert.pem and widgetgate-key.pem into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Print the generated widgets.json or apps.json.
    Render {
        /// Which document.
        what: Document,
        /// The config file (default: --config).
        path: Option<PathBuf>,
    },
    /// GET the running server's /healthz; exit 0 on 200, 1 otherwise (for container health
    /// checks: the image has no shell and no curl).
    Healthcheck {
        /// The URL to GET (default: http://127.0.0.1:PORT/healthz, PORT from --listen or 7779).
        #[arg(long, env = "WIDGETGATE_HEALTHCHECK_URL")]
        url: Option<String>,
        /// How long the whole check may take.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Document {
    Widgets,
    Apps,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => serve(&cli),
        Some(Command::Check { path }) => check(&path.unwrap_or(cli.config)),
        Some(Command::Render { what, path }) => render(what, &path.unwrap_or(cli.config)),
        Some(Command::Cert { out }) => cert(&out),
        Some(Command::Healthcheck { url, timeout }) => health(url, cli.listen, timeout),
    }
}

fn cert(dir: &std::path::Path) -> ExitCode {
    match widgetgate::tls::write_local_cert(dir) {
        Ok((cert, key)) => {
            emit(&widgetgate::tls::cert_instructions(&cert, &key));
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}

/// `healthcheck`: one line on stdout when healthy, on stderr when not.
fn health(url: Option<String>, listen: Option<SocketAddr>, timeout: Duration) -> ExitCode {
    let url = url.unwrap_or_else(|| healthcheck::default_url(listen));
    match healthcheck::check(&url, timeout) {
        Ok(status) => {
            emit(&format!("healthy: {url} answered `{status}`\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let (diags, ok) = match snapshot::load(path) {
        Ok((snap, warnings)) => {
            emit(&format!(
                "{warnings}{}: ok, {} widgets\n",
                path.display(),
                snap.widget_count
            ));
            return ExitCode::SUCCESS;
        }
        Err(diags) => (diags, false),
    };
    emit(&diags.to_string());
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn render(what: Document, path: &std::path::Path) -> ExitCode {
    match snapshot::load(path) {
        Ok((snap, warnings)) => {
            eprint!("{warnings}");
            let bytes = match what {
                Document::Widgets => &snap.widgets_json,
                Document::Apps => &snap.apps_json,
            };
            let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(diags) => fail(&diags),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

fn fail(diags: &Diagnostics) -> ExitCode {
    eprint!("{diags}");
    ExitCode::FAILURE
}

fn serve(cli: &Cli) -> ExitCode {
    let (path, listen, watch) = (cli.config.as_path(), cli.listen, cli.watch);
    init_logging(cli.log_format);
    let shared = Arc::new(Shared::default());
    let (snap, warnings) = match snapshot::load_with(path, &shared) {
        Ok(pair) => pair,
        Err(diags) => {
            for d in diags.sorted() {
                tracing::error!("{d}");
            }
            tracing::error!("{} has errors; not starting", path.display());
            return ExitCode::FAILURE;
        }
    };
    for d in warnings.sorted() {
        tracing::warn!("{d}");
    }
    let addr = listen.unwrap_or(snap.server.listen);
    if snap.auth.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            "listening on {addr} without `auth:`: anyone who can reach this address can call \
             every widget; add an `auth:` section with client keys, or listen on 127.0.0.1"
        );
    }
    let scheme = if snap.tls.is_some() { "https" } else { "http" };
    let threads = cli
        .threads
        .or_else(|| std::thread::available_parallelism().ok())
        .unwrap_or(NonZeroUsize::MIN);
    let idle_spin = Duration::from_micros(cli.idle_spin);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(threads.get())
        // Also the name of tokio's blocking-pool threads (file reads), which serve too.
        .thread_name("serve")
        .enable_all();
    let mut arrivals = None;
    if !idle_spin.is_zero() {
        match Arrivals::new() {
            Ok(set) => arrivals = Some(Arc::new(set)),
            // No epoll on this system: the spin runs its full length, as documented.
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
            Err(e) => tracing::warn!("the idle spin will run its full length: no epoll set: {e}"),
        }
        builder.on_thread_park(idle::before_park(idle_spin, arrivals.clone()));
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let shutdown = shutdown_signal();
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().unwrap_or(addr);
        let widgets = snap.widget_count;
        let store = widgetgate::store(snap);
        let Some(hot) = start_reload(path, &store, shared, watch, listen.is_some()) else {
            return ExitCode::FAILURE;
        };
        tracing::info!(
            widgets,
            threads,
            idle_spin_us = cli.idle_spin,
            "serving {} on {scheme}://{addr}",
            path.display()
        );
        widgetgate::run(listener, store, arrivals, shutdown).await;
        drop(hot);
        tracing::info!("stopped");
        ExitCode::SUCCESS
    })
}

/// Starts watching the config and reloading on SIGHUP; `None` (logged) when the requested watch
/// mode cannot work.
fn start_reload(
    path: &std::path::Path,
    store: &widgetgate::Store,
    shared: Arc<Shared>,
    watch: WatchMode,
    listen_pinned: bool,
) -> Option<HotReload> {
    let options = reload::Options {
        watch,
        listen_pinned,
        ..reload::Options::default()
    };
    let hot = match HotReload::start(path, store.clone(), shared, options) {
        Ok(hot) => hot,
        Err(e) => {
            tracing::error!("{e}; use --watch auto, poll or off");
            return None;
        }
    };
    match reload::on_hangup(hot.trigger()) {
        Ok(hangups) => {
            tokio::spawn(hangups);
        }
        Err(e) => tracing::warn!("cannot listen for SIGHUP, so it will not reload: {e}"),
    }
    Some(hot)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Completes on SIGINT or SIGTERM.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered now, before the port opens, so a SIGTERM right after start is never lost to
    // the default action (which would kill the process without draining).
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot listen for SIGTERM/SIGINT ({e}); stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
        tracing::info!("shutting down");
    }
}

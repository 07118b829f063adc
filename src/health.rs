//! `/healthz`: liveness (always 200 while the process serves) plus what an operator needs after
//! an edit: which config version is live and whether the last reload worked, with its errors.

use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::reload::status::{Attempt, Outcome};
use crate::snapshot::Snapshot;
use crate::source::Reply;

/// The `/healthz` answer for `snap`.
pub fn reply(snap: &Snapshot) -> Reply {
    let report = snap.shared.reload.report();
    let failing = report
        .last
        .as_ref()
        .is_some_and(|a| a.outcome == Outcome::Failed);
    let body = json!({
        "status": if failing { "degraded" } else { "ok" },
        "config": {
            "path": snap.inputs.config.display().to_string(),
            "sha256": snap.config_hash,
            "fingerprint": snap.inputs.fingerprint,
            "loaded_at": timestamp(snap.loaded_at),
            "widgets": snap.widget_count,
            "files": snap.inputs.files().count(),
        },
        "reload": {
            "watch": report.backend.as_str(),
            "reloads": report.reloads,
            "failures": report.failures,
            "checks": report.checks,
            "restart_required": report.restart_required,
            "last": report.last.as_ref().map(attempt),
        },
    });
    Reply {
        body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        content_type: "application/json",
    }
}

fn attempt(a: &Attempt) -> Value {
    json!({
        "at": timestamp(a.at),
        "trigger": a.cause.as_str(),
        "result": a.outcome.as_str(),
        "took_ms": a.took.as_secs_f64() * 1000.0,
        "errors": a.errors,
    })
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-11-24T10:00:00.123456Z`.
pub fn timestamp(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

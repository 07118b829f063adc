//! The deployment examples cannot rot: the Kubernetes manifests and the compose file parse, refer
//! to each other consistently (labels, ports, volumes, the ConfigMap's keys, the Secret's keys),
//! match the image (user, paths, health check), and the config they ship passes `widgetgate
//! check` and is served.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Gateway, root};
use serde_json::Value;

/// The image's user (Dockerfile `USER`, scripts/image-rootfs's passwd).
const IMAGE_UID: u64 = 65532;
/// The image's health check command.
const HEALTHCHECK: [&str; 3] = ["CMD", "/usr/local/bin/widgetgate", "healthcheck"];

fn kubernetes() -> PathBuf {
    root().join("deploy/kubernetes")
}

fn compose() -> PathBuf {
    root().join("deploy/compose")
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn str_at<'a>(v: &'a Value, pointer: &str, what: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}: no string at {pointer}"))
}

fn array_at<'a>(v: &'a Value, pointer: &str, what: &str) -> &'a Vec<Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{what}: no list at {pointer}"))
}

/// The Kubernetes manifests by kind, after checking that kustomization.yaml lists exactly the
/// manifest files of the folder and that each is one object with apiVersion, kind and name.
fn manifests() -> BTreeMap<String, Value> {
    let kustomization = yaml(&kubernetes().join("kustomization.yaml"));
    let listed: BTreeSet<String> = array_at(&kustomization, "/resources", "kustomization.yaml")
        .iter()
        .map(|r| r.as_str().expect("resources are file names").to_string())
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(kubernetes())
        .expect("deploy/kubernetes")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(
        listed, on_disk,
        "kustomization.yaml must list every manifest of deploy/kubernetes"
    );
    let mut by_kind = BTreeMap::new();
    for file in listed {
        let doc = yaml(&kubernetes().join(&file));
        for field in ["/apiVersion", "/kind", "/metadata/name"] {
            str_at(&doc, field, &file);
        }
        let kind = str_at(&doc, "/kind", &file).to_string();
        assert!(
            by_kind.insert(kind.clone(), doc).is_none(),
            "two manifests of kind {kind}"
        );
    }
    for kind in ["ConfigMap", "Secret", "Deployment", "Service"] {
        assert!(by_kind.contains_key(kind), "no {kind} in deploy/kubernetes");
    }
    by_kind
}

/// `labels` has every pair of `selector`.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The `${VAR}`s without a `:-` default that a config needs.
fn required_vars(config_text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = config_text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        if !inner.contains(":-") {
            out.insert(inner.to_string());
        }
        rest = &after[end..];
    }
    out
}

fn widgetgate_check(config: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
        .arg("check")
        .arg(config)
        .env_remove("FMP_API_KEY")
        .env_remove("FMP_API_KEY_FILE")
        .output()
        .expect("run widgetgate check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "widgetgate check {}:\n{}{}",
        config.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_kubernetes_manifests_fit_together_and_fit_the_image() {
    let m = manifests();
    let (deployment, service) = (&m["Deployment"], &m["Service"]);
    let (config_map, secret) = (&m["ConfigMap"], &m["Secret"]);
    let pod_labels = deployment
        .pointer("/spec/template/metadata/labels")
        .expect("pod labels");
    assert!(
        selects(
            deployment
                .pointer("/spec/selector/matchLabels")
                .expect("selector"),
            pod_labels
        ),
        "the Deployment's selector must match its pod labels"
    );
    assert!(
        selects(
            service.pointer("/spec/selector").expect("service selector"),
            pod_labels
        ),
        "the Service's selector must match the pod labels"
    );

    let pod = deployment.pointer("/spec/template/spec").expect("pod spec");
    assert_eq!(
        pod.pointer("/securityContext/runAsNonRoot"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        pod.pointer("/securityContext/runAsUser")
            .and_then(Value::as_u64),
        Some(IMAGE_UID),
        "runAsUser must be the image's user"
    );
    let containers = array_at(pod, "/containers", "pod");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(
        c.pointer("/securityContext/readOnlyRootFilesystem"),
        Some(&Value::Bool(true)),
        "the gateway writes nothing: keep the root filesystem read-only"
    );
    assert_eq!(
        c.pointer("/securityContext/allowPrivilegeEscalation"),
        Some(&Value::Bool(false))
    );
    for r in ["/resources/requests/cpu", "/resources/requests/memory"] {
        str_at(c, r, "container");
    }
    str_at(c, "/resources/limits/memory", "container");

    // Ports: the Service and every probe name a port the container declares, 7779.
    let ports: BTreeMap<&str, u64> = array_at(c, "/ports", "container")
        .iter()
        .map(|p| {
            (
                str_at(p, "/name", "container port"),
                p["containerPort"].as_u64().expect("containerPort"),
            )
        })
        .collect();
    assert_eq!(ports.get("http"), Some(&7779), "{ports:?}");
    for sp in array_at(service, "/spec/ports", "Service") {
        let target = str_at(sp, "/targetPort", "Service port");
        assert!(
            ports.contains_key(target),
            "Service targetPort {target} is not a container port"
        );
    }
    let probe = |name: &str| {
        let p = c
            .get(name)
            .unwrap_or_else(|| panic!("the container has no {name}"));
        let port = str_at(p, "/httpGet/port", name);
        assert!(
            ports.contains_key(port),
            "{name} port {port} is not declared"
        );
        str_at(p, "/httpGet/path", name).to_string()
    };
    assert_eq!(probe("livenessProbe"), "/healthz");
    assert_eq!(probe("startupProbe"), "/healthz");
    assert_eq!(probe("readinessProbe"), "/readyz");

    // Volumes: every mount has a volume, none uses subPath (it would never see updates).
    let volumes: BTreeMap<&str, &Value> = array_at(pod, "/volumes", "pod")
        .iter()
        .map(|v| (str_at(v, "/name", "volume"), v))
        .collect();
    let mut mounts = BTreeMap::new();
    for mnt in array_at(c, "/volumeMounts", "container") {
        let name = str_at(mnt, "/name", "volumeMount");
        assert!(volumes.contains_key(name), "no volume {name}");
        assert!(
            mnt.get("subPath").is_none(),
            "{name}: a subPath mount never sees ConfigMap/Secret updates"
        );
        assert_eq!(mnt.get("readOnly"), Some(&Value::Bool(true)), "{name}");
        mounts.insert(name, str_at(mnt, "/mountPath", "volumeMount").to_string());
    }

    // The config volume projects every key of the ConfigMap, each to a path under /config.
    let config_volume = volumes
        .values()
        .find(|v| v.get("configMap").is_some())
        .expect("a configMap volume");
    assert_eq!(
        str_at(config_volume, "/configMap/name", "config volume"),
        str_at(config_map, "/metadata/name", "ConfigMap")
    );
    let data = config_map
        .get("data")
        .and_then(Value::as_object)
        .expect("ConfigMap data");
    let items = array_at(config_volume, "/configMap/items", "config volume");
    let projected: BTreeMap<&str, &str> = items
        .iter()
        .map(|i| (str_at(i, "/key", "item"), str_at(i, "/path", "item")))
        .collect();
    assert_eq!(
        projected.keys().copied().collect::<BTreeSet<_>>(),
        data.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        "every ConfigMap key is projected, and only those"
    );
    let config_mount = &mounts[str_at(config_volume, "/name", "config volume")];
    let env: BTreeMap<&str, &str> = array_at(c, "/env", "container")
        .iter()
        .filter_map(|e| Some((str_at(e, "/name", "env"), e.get("value")?.as_str()?)))
        .collect();
    assert_eq!(
        env.get("WIDGETGATE_CONFIG").copied(),
        Some(format!("{config_mount}/gateway.yaml").as_str())
    );
    assert_eq!(projected.get("gateway.yaml"), Some(&"gateway.yaml"));

    // The Secret: mounted by name, and every *_FILE variable names one of its keys.
    let secret_volume = volumes
        .values()
        .find(|v| v.get("secret").is_some())
        .expect("a secret volume");
    assert_eq!(
        str_at(secret_volume, "/secret/secretName", "secret volume"),
        str_at(secret, "/metadata/name", "Secret")
    );
    let secret_mount = &mounts[str_at(secret_volume, "/name", "secret volume")];
    let secret_keys: BTreeSet<&str> = secret
        .get("stringData")
        .or_else(|| secret.get("data"))
        .and_then(Value::as_object)
        .expect("Secret data")
        .keys()
        .map(String::as_str)
        .collect();
    for (name, value) in &env {
        if let Some(var) = name.strip_suffix("_FILE") {
            let key = value
                .strip_prefix(&format!("{secret_mount}/"))
                .unwrap_or_else(|| panic!("{name}={value} is not in the secret mount"));
            assert!(
                secret_keys.contains(key),
                "{name} names `{key}`, not a key of the Secret"
            );
            assert!(!env.contains_key(var), "{var} and {name} both set");
        }
    }

    // The ConfigMap is the compose example's config folder, and every variable it needs is set.
    for (key, path) in &projected {
        let on_disk = std::fs::read_to_string(compose().join("config").join(path))
            .unwrap_or_else(|e| panic!("deploy/compose/config/{path}: {e}"));
        assert_eq!(
            data[*key].as_str(),
            Some(on_disk.as_str()),
            "ConfigMap key {key} differs from deploy/compose/config/{path}"
        );
    }
    let gateway_yaml = data["gateway.yaml"].as_str().expect("gateway.yaml text");
    let config_vars = required_vars(gateway_yaml);
    for var in &config_vars {
        assert!(
            env.contains_key(var.as_str()) || env.contains_key(format!("{var}_FILE").as_str()),
            "gateway.yaml needs ${{{var}}}, which the Deployment does not set"
        );
    }

    // Every other variable, plain or from a Secret, is one the binary reads: the --help of
    // widgetgate and of its commands names each setting's variable.
    let help: String = [
        &["--help"][..],
        &["serve", "--help"],
        &["healthcheck", "--help"],
    ]
    .iter()
    .map(|args| {
        let out = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
            .args(*args)
            .output()
            .expect("widgetgate --help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .collect();
    let names: BTreeSet<&str> = array_at(c, "/env", "container")
        .iter()
        .map(|e| str_at(e, "/name", "env"))
        .collect();
    for name in &names {
        let for_config = config_vars.contains(*name)
            || name
                .strip_suffix("_FILE")
                .is_some_and(|var| config_vars.contains(var));
        if for_config || *name == "RUST_LOG" {
            continue;
        }
        assert!(
            help.contains(&format!("[env: {name}=")),
            "the Deployment sets {name}, which widgetgate does not read"
        );
    }
}

#[tokio::test]
async fn the_config_map_laid_out_as_the_pod_sees_it_passes_check_and_serves_the_probes() {
    let m = manifests();
    let data = m["ConfigMap"]["data"].as_object().expect("data");
    let pod = &m["Deployment"]["spec"]["template"]["spec"];
    let volume = array_at(pod, "/volumes", "pod")
        .iter()
        .find(|v| v.get("configMap").is_some())
        .expect("configMap volume");
    let dir = tempfile::tempdir().expect("tempdir");
    for item in array_at(volume, "/configMap/items", "config volume") {
        let key = str_at(item, "/key", "item");
        let path = dir.path().join(str_at(item, "/path", "item"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, data[key].as_str().expect("text")).expect("write");
    }
    let config = dir.path().join("gateway.yaml");
    widgetgate_check(&config);
    let gw = Gateway::start(&config).await;
    let c = &pod["containers"][0];
    let liveness = str_at(c, "/livenessProbe/httpGet/path", "liveness");
    assert_eq!(gw.get(liveness).await.status(), 200, "GET {liveness}");
    let notes = gw.json("/team_notes").await;
    assert!(
        notes
            .as_str()
            .is_some_and(|s| s.starts_with("# Team notes")),
        "{notes}"
    );
    assert_eq!(
        gw.json("/watchlist").await.as_array().map(Vec::len),
        Some(4)
    );
}

#[test]
fn the_compose_file_mounts_the_config_folder_and_checks_health() {
    let file = compose().join("compose.yaml");
    let doc = yaml(&file);
    let services = doc
        .get("services")
        .and_then(Value::as_object)
        .expect("services");
    assert_eq!(services.len(), 1, "one service");
    let svc = services.values().next().expect("service");

    let context = compose().join(str_at(svc, "/build/context", "build"));
    assert!(
        context.join("Dockerfile").is_file(),
        "build.context {} has no Dockerfile",
        context.display()
    );
    let volumes = array_at(svc, "/volumes", "service");
    let config_mount = volumes
        .iter()
        .filter_map(Value::as_str)
        .find(|v| v.contains(":/config"))
        .expect("a volume mounted at /config");
    let parts: Vec<&str> = config_mount.split(':').collect();
    assert_eq!(parts.get(1), Some(&"/config"), "{config_mount}");
    assert_eq!(
        parts.get(2),
        Some(&"ro"),
        "mount the config read-only: {config_mount}"
    );
    let folder = compose().join(parts[0]);
    assert!(
        folder.is_dir(),
        "{config_mount}: the config is mounted as a folder, and {} must be one",
        folder.display()
    );
    widgetgate_check(&folder.join("gateway.yaml"));

    let test: Vec<&str> = array_at(svc, "/healthcheck/test", "healthcheck")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(test, HEALTHCHECK);
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains(r#"CMD ["/usr/local/bin/widgetgate", "healthcheck"]"#),
        "the compose health check repeats the Dockerfile's"
    );
    assert_eq!(str_at(svc, "/restart", "service"), "unless-stopped");
    assert_eq!(svc.get("read_only"), Some(&Value::Bool(true)));
    let ports: Vec<&str> = array_at(svc, "/ports", "service")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(ports.iter().any(|p| p.ends_with(":7779")), "{ports:?}");

    // The env file example names every variable the config needs.
    let env_files = array_at(svc, "/env_file", "service");
    let env_file = str_at(&env_files[0], "/path", "env_file");
    let example = std::fs::read_to_string(compose().join(format!("{env_file}.example")))
        .unwrap_or_else(|e| panic!("deploy/compose/{env_file}.example: {e}"));
    let named: BTreeSet<&str> = example
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    let config = std::fs::read_to_string(folder.join("gateway.yaml")).expect("config");
    for var in required_vars(&config) {
        assert!(
            named.contains(var.as_str()),
            "{env_file}.example does not name {var}"
        );
    }
    let ignored = std::fs::read_to_string(compose().join(".gitignore")).unwrap_or_default();
    assert!(
        ignored.lines().any(|l| l.trim() == env_file),
        "{env_file} holds keys: keep it out of git"
    );
}

#[test]
fn required_vars_skips_defaults() {
    let vars = required_vars("a: ${A}\nb: ${B:-x}\nc: \"${C}/${D:-}\"\n");
    assert_eq!(
        vars.into_iter().collect::<Vec<_>>(),
        vec!["A".to_string(), "C".to_string()]
    );
}

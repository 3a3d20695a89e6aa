use std::path::Path;

use super::*;

/// A template in a fresh folder with `order-processor/` and `checkout/` app folders and a `resources/` one.
fn folder(template: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["order-processor", "checkout", "resources"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("dapr.yaml"), template).unwrap();
    dir
}

const QUICKSTART: &str = "version: 1
common:
  resourcesPath: resources
  env:
    DEBUG: 'false'
    SHARED: common
apps:
  - appDirPath: ./order-processor/
    appPort: 8001
    command: [python3, app.py]
  - appID: checkout
    appDirPath: ./checkout/
    command: [python3, app.py]
    env:
      SHARED: mine
";

#[test]
fn the_quickstart_s_template_with_common_filling_the_gaps() {
    let dir = folder(QUICKSTART);
    let (t, warnings) = load(dir.path()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(t.apps.len(), 2);
    let op = &t.apps[0];
    assert_eq!(op.app_id, "order-processor", "appID defaults to the folder's name");
    assert_eq!(op.app_port, Some(8001));
    assert_eq!(op.command, ["python3", "app.py"]);
    assert_eq!(
        op.resources,
        [dir.path().join("resources")],
        "common's resourcesPath, relative to the template"
    );
    let checkout = &t.apps[1];
    assert_eq!(checkout.app_port, None);
    assert!(
        checkout.env.contains(&("SHARED".into(), "mine".into())),
        "the app's env wins: {:?}",
        checkout.env
    );
    assert!(
        checkout.env.contains(&("DEBUG".into(), "false".into())),
        "common fills the rest"
    );
}

#[test]
fn an_app_s_dot_dapr_resources_win_over_common() {
    let dir = folder(QUICKSTART);
    let own = dir.path().join("checkout/.dapr/resources");
    std::fs::create_dir_all(&own).unwrap();
    let (t, _) = load(&dir.path().join("dapr.yaml")).unwrap();
    assert_eq!(t.apps[1].resources, [own]);
    assert_eq!(t.apps[0].resources, [dir.path().join("resources")]);
}

#[test]
fn unsupported_fields_are_refused_and_ignored_ones_said_with_their_location() {
    let text = QUICKSTART.replace(
        "    appPort: 8001\n",
        "    appPort: 8001\n    containerImage: op:latest\n    configFilePath: config.yaml\n",
    );
    let dir = folder(&text);
    let err = load(dir.path()).unwrap_err();
    assert!(
        err.contains("`containerImage` is not supported: Kubernetes (-k) only"),
        "{err}"
    );
    assert!(err.contains("dapr.yaml:10:"), "located: {err}");

    let text = QUICKSTART.replace(
        "    appPort: 8001\n",
        "    appPort: 8001\n    configFilePath: config.yaml\n",
    );
    let dir = folder(&text);
    let (_, warnings) = load(dir.path()).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`configFilePath` is ignored") && w.contains("dapr.yaml:10:")),
        "{warnings:?}"
    );
}

#[test]
fn a_grpc_app_a_missing_folder_and_no_version_are_errors() {
    let text = QUICKSTART.replace("    appPort: 8001\n", "    appPort: 8001\n    appProtocol: grpc\n");
    let err = load(folder(&text).path()).unwrap_err();
    assert!(err.contains("appProtocol `grpc` is not supported"), "{err}");

    let text = QUICKSTART.replace("./checkout/", "./nosuch/");
    let err = load(folder(&text).path()).unwrap_err();
    assert!(err.contains("is not a folder") && err.contains("nosuch"), "{err}");

    let text = QUICKSTART.replace("version: 1\n", "");
    let err = load(folder(&text).path()).unwrap_err();
    assert!(err.contains("a run template needs `version: 1`"), "{err}");

    let err = load(Path::new("/nonexistent/dapr.txt")).unwrap_err();
    assert!(err.contains("ends in .yaml or .yml"), "{err}");
}

#[test]
fn common_gives_only_the_shared_fields_and_says_so_for_the_others() {
    let text = QUICKSTART.replace(
        "common:\n",
        "common:\n  appPort: 7777\n  daprHTTPPort: 3999\n  metricsPort: 9333\n  command: [sleep, '1']\n  appID: everyone\n",
    );
    let (t, warnings) = load(folder(&text).path()).unwrap();
    // dapr/cli's `Common` is `SharedRunConfig` alone: yaml.v2 drops the rest (we say it, at its line).
    for (field, line) in [
        ("appPort", 3),
        ("daprHTTPPort", 4),
        ("metricsPort", 5),
        ("command", 6),
        ("appID", 7),
    ] {
        let said = format!("`{field}` under `common` is dropped");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&said) && w.contains(&format!("dapr.yaml:{line}:"))),
            "{field}: {warnings:?}"
        );
    }
    let checkout = &t.apps[1];
    assert_eq!(checkout.app_id, "checkout");
    assert_eq!(
        (checkout.app_port, checkout.dapr_http_port, checkout.metrics_port),
        (None, None, None)
    );
    assert_eq!(t.apps[0].app_id, "order-processor", "not common's appID");
    assert_eq!(t.apps[0].app_port, Some(8001), "the app's own");
    assert_eq!(checkout.command, ["python3", "app.py"]);
    assert!(
        checkout.env.contains(&("DEBUG".into(), "false".into())),
        "env is shared"
    );
}

#[test]
fn a_metrics_port_is_the_template_s_or_a_free_one_not_9090() {
    let text = QUICKSTART.replace("    appPort: 8001\n", "    appPort: 8001\n    metricsPort: 9333\n");
    let (t, warnings) = load(folder(&text).path()).unwrap();
    assert!(warnings.is_empty(), "metricsPort is used: {warnings:?}");
    assert_eq!(t.apps[0].metrics_port, Some(9333));
    let ports = metrics_ports(&t, Vec::new()).unwrap();
    assert_eq!(ports.port("order-processor", 0), 9333);
    let free = ports.port("checkout", 1);
    assert!(free != 0 && free != 9090 && free != 9091, "a free random port: {free}");
    let moved = metrics_ports(&t, vec![("order-processor".into(), 9400)]).unwrap();
    assert_eq!(moved.port("order-processor", 0), 9400, "--metrics-port still moves it");
}

#[test]
fn max_body_size_is_the_app_s_or_common_s_as_a_quantity() {
    let text = QUICKSTART
        .replace(
            "  resourcesPath: resources\n",
            "  resourcesPath: resources\n  maxBodySize: 16Mi\n",
        )
        .replace("    appPort: 8001\n", "    appPort: 8001\n    maxBodySize: 1000000\n");
    let (t, warnings) = load(folder(&text).path()).unwrap();
    assert!(warnings.is_empty(), "maxBodySize is used: {warnings:?}");
    assert_eq!(t.apps[0].max_body_size, Some(1_000_000), "the app's own");
    assert_eq!(t.apps[1].max_body_size, Some(16 << 20), "common fills it");
    let bad = QUICKSTART.replace("    appPort: 8001\n", "    appPort: 8001\n    maxBodySize: 4Mb\n");
    let report = load(folder(&bad).path()).unwrap_err();
    assert!(
        report.contains("maxBodySize") && report.contains("not a size unit"),
        "{report}"
    );
}

const STATESTORE: &str = "apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: localhost:6379
";

fn keys_and_names(s: &crate::scenario::Scenario) -> Vec<(char, String)> {
    s.faults.iter().map(|f| (f.key, f.name.clone())).collect()
}

#[test]
fn a_state_store_s_faults_are_offered_and_f_stops_it_when_no_app_serves_a_port() {
    let dir = folder(
        "version: 1\ncommon:\n  resourcesPath: resources\napps:\n  - appDirPath: ./order-processor/\n    command: [python3, app.py]\n",
    );
    std::fs::write(dir.path().join("resources/statestore.yaml"), STATESTORE).unwrap();
    let (t, _) = load(dir.path()).unwrap();
    let s = scenario(&t, None).unwrap();
    let faults = keys_and_names(&s);
    assert_eq!(
        faults,
        [
            ('f', "stop-statestore".to_string()),
            ('p', "pause-statestore".to_string()),
            ('l', "slow-statestore".to_string()),
            ('e', "errors-statestore".to_string()),
        ],
        "the first fault is what --fault-at injects"
    );
    assert!(matches!(
        &s.faults[0].action,
        crate::scenario::FaultAction::StopStateStore { component } if component == "statestore"
    ));
}

#[test]
fn a_store_s_faults_come_after_the_serving_app_s_and_keep_their_free_letters() {
    let dir = folder(QUICKSTART);
    std::fs::write(dir.path().join("resources/statestore.yaml"), STATESTORE).unwrap();
    let (t, _) = load(dir.path()).unwrap();
    let faults = keys_and_names(&scenario(&t, None).unwrap());
    assert_eq!(faults[0], ('f', "stop-order-processor".to_string()));
    let store: Vec<_> = faults.iter().filter(|(_, n)| n.ends_with("-statestore")).collect();
    assert_eq!(
        store,
        [
            &('r', "stop-statestore".to_string()),
            &('1', "pause-statestore".to_string()),
            &('2', "slow-statestore".to_string()),
            &('e', "errors-statestore".to_string()),
        ]
    );
    // --resources-path chooses the folder the faults come from.
    let empty = tempfile::tempdir().unwrap();
    let faults = keys_and_names(&scenario(&t, Some(empty.path())).unwrap());
    assert!(faults.iter().all(|(_, n)| !n.ends_with("-statestore")), "{faults:?}");
}

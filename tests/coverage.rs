//! Which public state machines Stepwise can run for real: every Task resource of a definition
//! (in every branch and iteration) checked with the task router's own test
//! ([`stepwise_tasks_aws::services::can_serve`]). Used by the `realworld-coverage` binary and
//! by the e2e test that keeps the figure from going down.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use stepwise_asl::resource::TaskResource;

/// The figure for one folder of definitions.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Definitions read (`*.asl.json`).
    pub definitions: usize,
    /// Those with at least one Task state.
    pub with_task: usize,
    /// Those whose every Task resource can be served.
    pub servable: usize,
    /// The others: file name -> (resource, why it cannot be served).
    pub unservable: BTreeMap<String, Vec<(String, String)>>,
}

fn task_resources(states: Option<&Value>, out: &mut Vec<Value>) {
    let Some(states) = states.and_then(Value::as_object) else {
        return;
    };
    for state in states.values() {
        match state.get("Type").and_then(Value::as_str) {
            Some("Task") => out.push(state.get("Resource").cloned().unwrap_or(Value::Null)),
            Some("Parallel") => {
                for branch in state
                    .get("Branches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    task_resources(branch.get("States"), out);
                }
            }
            Some("Map") => {
                let processor = state.get("ItemProcessor").or_else(|| state.get("Iterator"));
                task_resources(processor.and_then(|p| p.get("States")), out);
            }
            _ => {}
        }
    }
}

/// Reads every `*.asl.json` of `dir` and classifies it.
pub fn realworld_coverage(dir: &Path) -> std::io::Result<Coverage> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort();
    let mut c = Coverage::default();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(definition) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        c.definitions += 1;
        let mut resources = Vec::new();
        task_resources(definition.get("States"), &mut resources);
        if resources.is_empty() {
            continue;
        }
        c.with_task += 1;
        let mut missing: Vec<(String, String)> = Vec::new();
        for r in resources {
            let (text, verdict) = match r.as_str() {
                Some(s) => (
                    s.to_string(),
                    stepwise_tasks_aws::services::can_serve(&TaskResource::parse(s)),
                ),
                None => (
                    r.to_string(),
                    Err("the Resource is not a string".to_string()),
                ),
            };
            if let Err(why) = verdict {
                if !missing.iter().any(|(m, _)| *m == text) {
                    missing.push((text, why));
                }
            }
        }
        if missing.is_empty() {
            c.servable += 1;
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            c.unservable.insert(name, missing);
        }
    }
    Ok(c)
}

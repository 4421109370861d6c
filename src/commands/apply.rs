//! `edgeflow apply FILE --cluster URL`: compiles the file and deploys its bundle under a
//! name (the file's stem unless `--name`); the cluster stores it by hash and activates
//! its policies on every node, replacing the previous version of that name.

use crate::cli::{ClusterTarget, Color, Format};
use crate::commands::remote::{block_on, connect, Failure};
use crate::pipeline::{bundle_json, compile_with_modules};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

pub fn run(
    file: &Path,
    name: Option<String>,
    shadow: bool,
    format: Format,
    color: Color,
    target: &ClusterTarget,
) -> ExitCode {
    let Some(name) = name.or_else(|| {
        file.file_stem()
            .and_then(|stem| stem.to_str())
            .map(str::to_string)
    }) else {
        eprintln!(
            "error: {} has no file name to name the deployment after; pass --name",
            file.display()
        );
        return ExitCode::from(crate::commands::EXIT_USAGE);
    };
    let program = match compile_with_modules(file, color) {
        Ok(program) => program,
        Err(code) => return code,
    };
    let bundle = match bundle_json(&program) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    block_on(async move {
        let client = connect(target)?;
        let body = json!({ "name": name, "bundle": bundle, "shadow": shadow });
        let applied = client.post("/v1/deployments", body).await?;
        if format == Format::Json {
            println!("{applied}");
            return Ok(());
        }
        let policies: Vec<&str> = applied["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "deployed {} version {} ({}){}: {}",
            applied["name"].as_str().unwrap_or("?"),
            applied["version"],
            applied["bundle_hash"].as_str().unwrap_or("?"),
            if shadow { " in shadow mode" } else { "" },
            match policies.is_empty() {
                true => "no policies".to_string(),
                false => format!("policies {}", policies.join(", ")),
            }
        );
        Ok::<(), Failure>(())
    })
}

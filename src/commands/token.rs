//! `edgeflow token create|list|revoke`: scoped client tokens. The secret is made here
//! (32 random bytes from the operating system) and only its SHA-256 is sent: the
//! cluster never sees, stores or logs a client's token.

use crate::cli::{ClusterTarget, Format, TokenAction};
use crate::commands::remote::{block_on, connect, Failure};
use edgeflow_compiler::conform::conform_text;
use edgeflow_compiler::types::Type;
use edgeflow_compiler::value::Value as IrValue;
use edgeflow_runtime::member::token_sha256;
use edgeflow_runtime::tokens::Scope;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::ExitCode;

pub fn run(action: TokenAction, target: ClusterTarget) -> ExitCode {
    block_on(async move {
        match action {
            TokenAction::Create {
                scopes,
                expires,
                description,
            } => {
                let scopes = scopes
                    .iter()
                    .map(|s| s.parse::<Scope>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(Failure::Usage)?;
                let expires_in_ms = expires.as_deref().map(lifetime_ms).transpose()?;
                let token = new_secret()?;
                let client = connect(&target)?;
                let body = json!({
                    "token_sha256": token_sha256(&token),
                    "scopes": scopes,
                    "expires_in_ms": expires_in_ms,
                    "description": description,
                });
                let created = client.post("/v1/tokens", body).await?;
                eprintln!(
                    "token {} created ({})",
                    created["id"].as_str().unwrap_or("?"),
                    scopes
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                println!("{token}");
            }
            TokenAction::List { format } => {
                let listed = connect(&target)?.get("/v1/tokens").await?;
                print_tokens(&listed, format);
            }
            TokenAction::Revoke { id } => {
                connect(&target)?
                    .send(Method::DELETE, &format!("/v1/tokens/{id}"), None)
                    .await?;
                eprintln!("token {id} revoked");
            }
        }
        Ok(())
    })
}

/// 32 random bytes from the operating system, as 64 hex digits.
fn new_secret() -> Result<String, Failure> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure::Usage(format!("no randomness from the operating system: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `--expires 30d` in milliseconds.
fn lifetime_ms(text: &str) -> Result<u64, Failure> {
    match conform_text(text, &Type::Duration) {
        Ok(IrValue::Duration(nanos)) if nanos >= 1_000_000 => Ok((nanos / 1_000_000) as u64),
        Ok(_) => Err(Failure::Usage(format!(
            "--expires {text}: a token must live at least 1ms"
        ))),
        Err(error) => Err(Failure::Usage(format!(
            "--expires {text}: {error} (a duration such as 30d or 12h)"
        ))),
    }
}

fn print_tokens(listed: &Value, format: Format) {
    if format == Format::Json {
        println!("{listed}");
        return;
    }
    println!(
        "{:<17} {:<36} {:<10} {:<24} DESCRIPTION",
        "ID", "SCOPES", "STATE", "EXPIRES (UTC)"
    );
    let tokens = listed.get("tokens").and_then(Value::as_array);
    for token in tokens.into_iter().flatten() {
        let scopes: Vec<&str> = token["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let state = if token["revoked_at_ms"].is_u64() {
            "revoked"
        } else if token["usable"] == true {
            "usable"
        } else {
            "expired"
        };
        let expires = token["expires_at_ms"]
            .as_i64()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map_or("never".to_string(), |t| {
                t.strftime("%Y-%m-%d %H:%M:%S").to_string()
            });
        println!(
            "{:<17} {:<36} {:<10} {:<24} {}",
            token["id"].as_str().unwrap_or("?"),
            scopes.join(","),
            state,
            expires,
            token["description"].as_str().unwrap_or("")
        );
    }
}

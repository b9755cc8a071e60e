//! The CLI's calls to a running server (`rules install`, `product install`, `sandbox advance`).

/// Posts a JSON body to `url` + `path` with `key`; returns the HTTP status and the reply's text.
/// Only a failure to reach the server is an error: a refusal is the caller's to report.
pub fn post(url: &str, path: &str, key: &str, body: &serde_json::Value) -> anyhow::Result<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let address = format!("{}{path}", url.trim_end_matches('/'));
    let mut response = agent
        .post(&address)
        .header("authorization", &format!("Bearer {key}"))
        .header("content-type", "application/json")
        .send(body.to_string().as_str())
        .map_err(|error| anyhow::anyhow!("cannot reach the server at {address}: {error}"))?;
    let status = response.status().as_u16();
    Ok((status, response.body_mut().read_to_string()?))
}

/// Installs a file the caller has validated (its `text`) through `path` as `{command_id, toml}`;
/// prints `installed WHAT` and the reply, or the refusal (exit 2: what was in force stays).
pub fn install(
    url: &str,
    key: &str,
    path: &str,
    command_id: u64,
    text: &str,
    what: &str,
) -> anyhow::Result<std::process::ExitCode> {
    let body = serde_json::json!({ "command_id": command_id, "toml": text });
    let (status, reply) = post(url, path, key, &body)?;
    if status == 200 {
        println!("installed {what}: {reply}");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    eprintln!("error: the server refused {what} (HTTP {status}): {reply}");
    Ok(std::process::ExitCode::from(2))
}

//! Tests of the structured detections: JSON env values, docker `-e`, positional and
//! composite args, URL path segments and query names, headers and the newer token
//! formats.

use super::*;

// ---- canaries: clearly fake, but shaped like the real thing ---------------------------

const ALNUM: &str = "KBCANARY0123456789abcdefghijklmnopqrstuvwxyzQWERTZ";
const LOWER_ALNUM: &str = "kbcanary0123456789qwertzuiopasdfghjklyxcvbnm";
const LETTERS: &str = "KBCANARYabcdefghijklmnopqrstuvwxyzQWERTZ";
const HEX: &str = "0123456789abcdef";

fn body(pool: &str, n: usize) -> String {
    pool.chars().cycle().take(n).collect()
}

fn tok(prefix: &str, pool: &str, n: usize) -> String {
    format!("{prefix}{}", body(pool, n))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn secrets<'a>(found: &[Detection], text: &'a str) -> Vec<&'a str> {
    found
        .iter()
        .map(|d| d.secret_in(text).expect("span in bounds"))
        .collect()
}

fn notion() -> String {
    format!("ntn_{}{}", "12345678901", body(ALNUM, 35))
}

// ---- token formats ---------------------------------------------------------------------

/// (token, rule, chars of the token a too-short lookalike keeps).
fn formats() -> Vec<(String, Rule, usize)> {
    let uuid = "3f2a1b9c-8d7e-4f5a-9b3c-2d1e0f9a8b7c";
    let cut = |t: &str| t.len() - 1;
    let mut v: Vec<(String, Rule, usize)> = vec![
        (notion(), Rule::NotionToken, 0),
        (tok("secret_", ALNUM, 43), Rule::NotionToken, 0),
        (tok("lin_api_", ALNUM, 40), Rule::LinearKey, 0),
        (tok("figd_", ALNUM, 40), Rule::FigmaToken, 0),
        (tok("hf_", LETTERS, 34), Rule::HuggingFaceToken, 0),
        (tok("api_org_", LETTERS, 34), Rule::HuggingFaceToken, 0),
        (tok("sntryu_", HEX, 64), Rule::SentryToken, 0),
        (
            format!(
                "sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIn0_{}",
                body(ALNUM, 43)
            ),
            Rule::SentryToken,
            20,
        ),
        (
            tok("napi_", LOWER_ALNUM, 64),
            Rule::NeonKey,
            "napi_".len() + 59,
        ),
        (tok("shpat_", HEX, 32), Rule::ShopifyToken, 0),
        (tok("ATATT3", ALNUM, 186), Rule::AtlassianToken, 0),
        (
            format!("pat{}.{}", body(ALNUM, 14), body(HEX, 64)),
            Rule::AirtableToken,
            0,
        ),
        (tok("pplx-", ALNUM, 48), Rule::PerplexityKey, 0),
        (tok("tvly-", ALNUM, 32), Rule::TavilyKey, 0),
        (
            tok("tvly-dev-", ALNUM, 40),
            Rule::TavilyKey,
            "tvly-".len() + 31,
        ),
        (tok("fc-", HEX, 32), Rule::FirecrawlKey, 0),
        (format!("pat-na1-{uuid}"), Rule::HubspotToken, 0),
        (tok("gsk_", ALNUM, 52), Rule::GroqKey, 0),
        (tok("xai-", ALNUM, 80), Rule::XaiKey, 0),
        (tok("r8_", ALNUM, 37), Rule::ReplicateToken, 0),
        (tok("dop_v1_", HEX, 64), Rule::DigitalOceanToken, 0),
        (tok("npm_", ALNUM, 36), Rule::NpmToken, 0),
        (
            tok("pypi-AgEIcHlwaS5vcmc", ALNUM, 60),
            Rule::PypiToken,
            "pypi-AgEIcHlwaS5vcmc".len() + 49,
        ),
        (
            tok("ya29.", ALNUM, 150),
            Rule::GoogleOauthToken,
            "ya29.".len() + 19,
        ),
        (tok("GOCSPX-", ALNUM, 28), Rule::GoogleOauthToken, 0),
        (tok("sbp_", LOWER_ALNUM, 40), Rule::SupabaseToken, 0),
        (tok("apify_api_", ALNUM, 36), Rule::ApifyToken, 0),
        (
            format!("PMAK-{}-{}", body(HEX, 24), body(HEX, 34)),
            Rule::PostmanKey,
            0,
        ),
        (tok("HRKU-AA", ALNUM, 58), Rule::HerokuKey, 0),
        (tok("dapi", HEX, 32), Rule::DatabricksToken, 0),
        (
            format!("glsa_{}_{}", body(ALNUM, 32), body(HEX, 8)),
            Rule::GrafanaToken,
            0,
        ),
    ];
    for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
        v.push((tok(prefix, ALNUM, 36), Rule::GithubToken, 0));
    }
    for case in &mut v {
        if case.2 == 0 {
            case.2 = cut(&case.0);
        }
    }
    v
}

#[test]
fn every_vendor_format_is_found_under_any_name_with_its_own_rule() {
    for (token, rule, _) in formats() {
        let f = scan_env("SOME_SETTING", &token).unwrap_or_else(|| panic!("{token}"));
        assert_eq!(f.rule, rule, "{token}");
        let args = vec!["server".to_owned(), token.clone()];
        let found = detect_args(&args);
        assert_eq!(found.len(), 1, "{token}: {found:?}");
        assert_eq!(found[0].rule, rule, "{token}");
        assert_eq!(found[0].form, Form::Whole, "{token}");
        assert_eq!(found[0].secret_in(&args[1]), Some(token.as_str()));
    }
}

#[test]
fn a_too_short_lookalike_of_a_vendor_format_is_not_a_finding() {
    for (token, _, keep) in formats() {
        let short = &token[..keep];
        assert!(scan_env("SOME_SETTING", short).is_none(), "{short}");
        let args = vec!["server".to_owned(), short.to_owned()];
        assert!(detect_args(&args).is_empty(), "{short}");
    }
}

#[test]
fn wrong_alphabet_lookalikes_are_not_findings() {
    for fake in [
        // Hugging Face tokens are letters only.
        tok("hf_", ALNUM, 34),
        // Firecrawl and DigitalOcean bodies are lowercase hex.
        tok("fc-", "KBCANARYghijklmnopqrstuvwxyz0123", 32),
        tok("dop_v1_", "ghijklmnopqrstuvwxyz", 64),
        // Notion `ntn_` starts with 11 digits.
        tok("ntn_", LETTERS, 46),
        // Airtable needs the dot and 64 hex.
        tok("pat", ALNUM, 79),
    ] {
        assert!(scan_env("SOME_SETTING", &fake).is_none(), "{fake}");
    }
}

#[test]
fn readme_placeholders_are_not_findings() {
    for (name, value) in [
        ("NOTION_TOKEN", "ntn_****"),
        ("BRAVE_API_KEY", "YOUR_API_KEY_HERE"),
        ("GITHUB_PERSONAL_ACCESS_TOKEN", "<YOUR_TOKEN>"),
        ("API_KEY", "your-api-key"),
        ("GITHUB_TOKEN", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ("OPENAI_API_KEY", "sk-..."),
        ("DB_PASSWORD", "changeme"),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    ] {
        assert!(scan_env(name, value).is_none(), "{name}={value}");
    }
    let args = strings(&[
        "-y",
        "@neondatabase/mcp-server-neon",
        "start",
        "<YOUR_NEON_API_KEY>",
    ]);
    assert!(detect_args(&args).is_empty());
}

// ---- JSON env values -------------------------------------------------------------------

#[test]
fn notion_openapi_headers_json_spans_only_the_token() {
    let value = format!(
        "{{\"Authorization\": \"Bearer {}\", \"Notion-Version\": \"2022-06-28\" }}",
        notion()
    );
    let found = detect_env("OPENAPI_MCP_HEADERS", &value);
    assert_eq!(secrets(&found, &value), [notion()]);
    let d = &found[0];
    assert_eq!(d.place, Place::Env("OPENAPI_MCP_HEADERS".into()));
    assert_eq!(d.rule, Rule::NotionToken);
    assert_eq!(d.form, Form::Part);
    assert!(d.json);
    let template = d
        .replaced(&value, "${keybroker:notion}")
        .expect("in bounds");
    assert_eq!(
        template,
        "{\"Authorization\": \"Bearer ${keybroker:notion}\", \"Notion-Version\": \"2022-06-28\" }"
    );
    // The old view still moves the whole value.
    let f = scan_env("OPENAPI_MCP_HEADERS", &value).expect("a finding");
    assert_eq!(f.span, 0..value.len());
}

#[test]
fn json_values_under_secret_keys_are_found_by_key_name() {
    let value = r#"{"X-API-Key": "kbCANARY-opaque-key-1", "X-Mcp-Role": "admin", "nested": {"client_secret": "kbCANARY-pw"}, "token_type": "bearer"}"#;
    let found = detect_env("MCP_HEADERS", value);
    assert_eq!(
        secrets(&found, value),
        ["kbCANARY-opaque-key-1", "kbCANARY-pw"]
    );
    assert!(found.iter().all(|d| d.rule == Rule::SecretJsonKey));
}

#[test]
fn authorization_in_json_without_a_known_format_spans_the_credential() {
    let value = r#"{"Authorization":"Bearer kbCANARY.opaque-123456"}"#;
    let found = detect_env("EXTRA_HEADERS", value);
    assert_eq!(secrets(&found, value), ["kbCANARY.opaque-123456"]);
    assert_eq!(found[0].rule, Rule::AuthorizationHeader);
}

#[test]
fn busy_json_env_values_without_secrets_are_not_findings() {
    for value in [
        r#"{ "headless": false, "executablePath": "C:/Program Files/Google/Chrome/Application/chrome.exe", "args": ["--no-sandbox"] }"#,
        r#"{"Authorization": "Bearer ${NOTION_TOKEN}", "Notion-Version": "2022-06-28"}"#,
        r#"["--port", "8080", "--log-level", "debug"]"#,
        r#"{"X-API-Key": "****"}"#,
    ] {
        assert!(detect_env("OPTIONS", value).is_empty(), "{value}");
        assert!(scan_env("OPTIONS", value).is_none(), "{value}");
    }
}

#[test]
fn an_escaped_json_secret_is_decoded_by_secret_value() {
    let value = r#"{"password": "kb\"CANARY\u0041pw"}"#;
    let found = detect_env("DB_OPTIONS", value);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].json);
    assert_eq!(found[0].secret_in(value), Some(r#"kb\"CANARY\u0041pw"#));
    assert_eq!(
        found[0].secret_value(value).as_deref(),
        Some("kb\"CANARYApw")
    );
}

#[test]
fn invalid_json_is_scanned_as_plain_text() {
    let value = format!("{{\"Authorization\": \"Bearer {}\"", notion());
    let found = detect_env("HEADERS", &value);
    assert_eq!(secrets(&found, &value), [notion()]);
    assert!(!found[0].json);
}

// ---- docker -e ---------------------------------------------------------------------------

#[test]
fn docker_env_assignments_are_flagged_with_the_name_and_the_value_range() {
    let token = tok("ghp_", ALNUM, 36);
    for (args, index, kept) in [
        (
            vec![
                "run",
                "-i",
                "--rm",
                "-e",
                &*format!("GITHUB_PERSONAL_ACCESS_TOKEN={token}"),
                "ghcr.io/github/github-mcp-server",
            ],
            4,
            "GITHUB_PERSONAL_ACCESS_TOKEN",
        ),
        (
            vec![
                "run",
                "--env",
                &*format!("GITHUB_PERSONAL_ACCESS_TOKEN={token}"),
                "img",
            ],
            2,
            "GITHUB_PERSONAL_ACCESS_TOKEN",
        ),
        (
            vec![
                "run",
                &*format!("--env=GITHUB_PERSONAL_ACCESS_TOKEN={token}"),
                "img",
            ],
            1,
            "--env=GITHUB_PERSONAL_ACCESS_TOKEN",
        ),
    ] {
        let args = strings(&args);
        let found = detect_args(&args);
        assert_eq!(found.len(), 1, "{found:?}");
        let d = &found[0];
        assert_eq!(d.place, Place::Arg(index));
        assert_eq!(d.rule, Rule::GithubToken);
        assert_eq!(d.secret_in(&args[index]), Some(token.as_str()));
        let Form::DockerEnv { name, value } = &d.form else {
            panic!("not a docker env form: {d:?}");
        };
        assert_eq!(name, "GITHUB_PERSONAL_ACCESS_TOKEN");
        assert_eq!(&args[index][value.clone()], token);
        assert_eq!(d.docker_env_arg(&args[index]), Some(kept));
    }
}

#[test]
fn docker_env_with_a_json_value_spans_the_token_inside_it() {
    let arg = format!(
        "OPENAPI_MCP_HEADERS={{\"Authorization\": \"Bearer {}\", \"Notion-Version\": \"2022-06-28\"}}",
        notion()
    );
    let args = vec![
        "run".to_owned(),
        "--rm".to_owned(),
        "-i".to_owned(),
        "-e".to_owned(),
        arg.clone(),
        "notion-mcp-server".to_owned(),
    ];
    let found = detect_args(&args);
    assert_eq!(secrets(&found, &arg), [notion()]);
    assert!(found[0].json);
    assert!(
        matches!(&found[0].form, Form::DockerEnv { name, .. } if name == "OPENAPI_MCP_HEADERS")
    );
}

#[test]
fn docker_env_names_references_and_harmless_values_are_not_findings() {
    let args = strings(&[
        "run",
        "-i",
        "--rm",
        "-e",
        "GITHUB_PERSONAL_ACCESS_TOKEN",
        "-e",
        "TFE_TOKEN=${TFE_TOKEN}",
        "-e",
        "LOG_LEVEL=debug",
        "--env=GRAFANA_URL=http://localhost:3000",
        "mcp/grafana",
        "-t",
        "stdio",
    ]);
    assert!(detect_args(&args).is_empty(), "{:?}", detect_args(&args));
}

// ---- positional and composite args -------------------------------------------------------

#[test]
fn a_key_after_a_subcommand_is_a_positional_finding() {
    let key = body(LOWER_ALNUM, 64);
    let args = strings(&["-y", "@neondatabase/mcp-server-neon", "start", &key]);
    let found = detect_args(&args);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].place, Place::Arg(3));
    assert_eq!(found[0].rule, Rule::PositionalKey);
    assert_eq!(found[0].form, Form::Whole);
    // With its vendor prefix the format rule names it.
    let args = strings(&[
        "-y",
        "@neondatabase/mcp-server-neon",
        "start",
        &tok("napi_", LOWER_ALNUM, 64),
    ]);
    assert_eq!(detect_args(&args)[0].rule, Rule::NeonKey);
}

#[test]
fn ids_words_and_flag_values_in_positional_places_are_not_findings() {
    let args = strings(&[
        "-y",
        "@azure/mcp@latest",
        "server",
        "start",
        "3f2a1b9c-8d7e-4f5a-9b3c-2d1e0f9a8b7c",
        "internationalization2024",
        "modelcontextprotocol-server-everything",
        "--project-ref",
        "kbcanary0123456789qwertzuiopasdfghjkl",
        "--workspace-id=KBCANARY0123456789abcdefghijk",
        "mcp-server-git==1.2.3",
        "2022-06-28",
    ]);
    assert!(detect_args(&args).is_empty(), "{:?}", detect_args(&args));
}

#[test]
fn twilio_credentials_span_only_the_secret_after_the_colon() {
    let sid = format!("AC{}", body(HEX, 32));
    let key_sid = format!("SK{}", body("fedcba9876543210", 32));
    let secret = body(ALNUM, 32);
    let arg = format!("{sid}/{key_sid}:{secret}");
    let args = vec!["-y".to_owned(), "@twilio-alpha/mcp".to_owned(), arg.clone()];
    let found = detect_args(&args);
    assert_eq!(secrets(&found, &arg), [secret.as_str()]);
    assert_eq!(found[0].rule, Rule::CredentialPair);
    assert_eq!(found[0].form, Form::Part);
    // A SID alone is an id.
    let args = vec!["--account".to_owned(), sid];
    assert!(detect_args(&args).is_empty());
}

#[test]
fn dsn_in_an_env_value_spans_only_the_password() {
    let value = "postgresql://app:kbCANARY-pg-pw@db.internal:5432/app";
    let found = detect_env("DATABASE_URL", value);
    assert_eq!(secrets(&found, value), ["kbCANARY-pg-pw"]);
    assert_eq!(found[0].form, Form::Part);
}

#[test]
fn a_bearer_value_under_a_secret_name_spans_the_credential() {
    let value = "Bearer kbCANARY-opaque-12345";
    let found = detect_env("AUTH_HEADER", value);
    assert_eq!(secrets(&found, value), ["kbCANARY-opaque-12345"]);
    assert_eq!(found[0].form, Form::Part);
}

// ---- URLs --------------------------------------------------------------------------------

#[test]
fn a_token_after_a_path_marker_is_found() {
    let zapier = "OWJmYzkwYTYtMjUwZS00KBCANARYLThkOTItMmM1ZTVlNTMzMTM5OjMzNjA2MjQx==";
    let url = format!("https://mcp.zapier.com/api/mcp/s/{zapier}/mcp");
    let found = detect_url("url", &url);
    assert_eq!(secrets(&found, &url), [zapier]);
    assert_eq!(found[0].rule, Rule::UrlPathToken);
    assert_eq!(found[0].form, Form::Part);
    // Make's `/u/<MCP_TOKEN>/`, a UUID.
    let token = "9d1c2b3a-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
    let url = format!("https://eu2.make.com/mcp/api/v1/u/{token}/sse");
    assert_eq!(secrets(&detect_url("url", &url), &url), [token]);
}

#[test]
fn a_generated_key_as_a_path_segment_is_found_without_a_marker() {
    let key = "KBCANARY7f3Qz9Lm2Xv8Rt4Wn6Yp";
    let url = format!("https://mcp.example.com/{key}/mcp");
    assert_eq!(secrets(&detect_url("url", &url), &url), [key]);
}

#[test]
fn uuids_and_hex_ids_in_paths_are_ids_except_on_capability_hosts() {
    let id = "3f2a1b9c-8d7e-4f5a-9b3c-2d1e0f9a8b7c";
    for url in [
        format!("https://api.example.com/v1/projects/{id}/mcp"),
        "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/api/2.0/mcp/genie/01f0123456789abcdef0123456789abc".to_owned(),
        "https://mcp.sentry.dev/mcp/acme-corp/backend-api".to_owned(),
        "https://github.com/acme/repo/commit/3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a".to_owned(),
        "https://mcp.linear.app/sse".to_owned(),
        "https://server.smithery.ai/@upstash/context7-mcp/mcp".to_owned(),
    ] {
        assert!(detect_url("url", &url).is_empty(), "{url}");
    }
    let url = format!("https://mcp.pipedream.net/{id}/github");
    assert_eq!(secrets(&detect_url("url", &url), &url), [id]);
    let url = format!("https://mcp.composio.dev/composio/server/{id}/mcp?user_id=jane");
    assert_eq!(secrets(&detect_url("url", &url), &url), [id]);
}

#[test]
fn secret_query_names_are_found_by_name_and_harmless_ones_are_not() {
    let exa = "0c5d7e1f-KBCANARY-4a2b-9c3d-5e6f7a8b9c0d";
    let url = format!(
        "https://mcp.exa.ai/mcp?exaApiKey={exa}&profile=default&region=us-east-1&version=2"
    );
    assert_eq!(secrets(&detect_url("url", &url), &url), [exa]);
    let url = "https://h.example/mcp?api_key=kbA1&access_token=kbA2&apikey=kbA3&secret=kbA4&key=kbA5&token=kbA6";
    assert_eq!(
        secrets(&detect_url("url", url), url),
        ["kbA1", "kbA2", "kbA3", "kbA4", "kbA5", "kbA6"]
    );
    let url = "https://h.example/mcp?profile=kbCANARY-profile-name&region=eu&version=2024-11-05&page_token=KBCANARY0123456789abc&user_id=jane&read_only=true";
    assert!(detect_url("url", url).is_empty());
}

#[test]
fn a_known_token_in_a_url_path_reports_its_format() {
    let key = tok("fc-", HEX, 32);
    let url = format!("https://mcp.firecrawl.dev/{key}/v2/mcp");
    let found = detect_url("url", &url);
    assert_eq!(secrets(&found, &url), [key.as_str()]);
    assert_eq!(found[0].rule, Rule::FirecrawlKey);
}

// ---- headers and whole entries ------------------------------------------------------------

#[test]
fn remote_headers_span_the_credential_and_leave_harmless_ones() {
    let found = detect_header("Authorization", "Bearer kbCANARY.opaque-1234");
    assert_eq!(
        secrets(&found, "Bearer kbCANARY.opaque-1234"),
        ["kbCANARY.opaque-1234"]
    );
    assert_eq!(found[0].form, Form::Part);
    let found = detect_header("x-functions-key", "kbCANARYfunctionkey==");
    assert_eq!(found[0].form, Form::Whole);
    for (name, value) in [
        ("Authorization", "Bearer ${input:github_mcp_pat}"),
        ("Notion-Version", "2022-06-28"),
        ("X-Figma-Region", "us-east-1"),
        ("Accept", "application/json, text/event-stream"),
        ("X-API-Key", "YOUR_API_KEY"),
    ] {
        assert!(detect_header(name, value).is_empty(), "{name}: {value}");
    }
}

#[test]
fn a_comma_separated_header_list_yields_each_secret() {
    let value =
        "Authorization:Bearer kbCANARY-one-1234,X-API-Key:kbCANARY-two,Accept:application/json";
    let found = detect_env("API_HEADERS", value);
    assert_eq!(
        secrets(&found, value),
        ["kbCANARY-one-1234", "kbCANARY-two"]
    );
}

#[test]
fn a_remote_entry_is_scanned_in_its_url_and_headers() {
    let entry = serde_json::json!({
        "type": "http",
        "url": "https://mcp.example.com/mcp?api_key=kbCANARY-url-key&region=eu",
        "headers": {"Authorization": "Bearer kbCANARY-hdr-123", "X-Region": "eu"}
    });
    let found = detect_entry(&entry);
    let places: Vec<String> = found.iter().map(|d| d.place.to_string()).collect();
    assert_eq!(places, ["url", "header Authorization"]);
    assert_eq!(remote_plaintext(&entry), 2);
}

#[test]
fn a_stdio_entry_lists_env_then_args() {
    let entry = serde_json::json!({
        "command": "npx",
        "args": ["-y", "@sentry/mcp-server@latest", format!("--access-token={}", tok("sntryu_", HEX, 64))],
        "env": {"SENTRY_HOST": "sentry.example.com", "OPENAI_API_KEY": tok("sk-proj-", ALNUM, 40)}
    });
    let found = detect_entry(&entry);
    let places: Vec<Place> = found.iter().map(|d| d.place.clone()).collect();
    assert_eq!(places, [Place::Env("OPENAI_API_KEY".into()), Place::Arg(2)]);
    assert_eq!(found[1].rule, Rule::SentryToken);
}

#[test]
fn telegram_api_hash_is_a_secret_but_other_hashes_are_not() {
    assert!(scan_env("TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef").is_some());
    assert!(scan_env("COMMIT_HASH", "0123456789abcdef0123456789abcdef").is_none());
}

#[test]
fn detection_debug_output_never_contains_the_secret() {
    let value = format!("{{\"Authorization\": \"Bearer {}\"}}", notion());
    let args = vec![
        "-e".to_owned(),
        format!("NOTION_TOKEN={}", notion()),
        format!("https://mcp.example.com/s/{}/mcp", body(ALNUM, 30)),
    ];
    let mut found = detect_env("OPENAPI_MCP_HEADERS", &value);
    found.extend(detect_args(&args));
    assert_eq!(found.len(), 3, "{found:?}");
    let debug = format!("{found:?}");
    assert!(!debug.contains("KBCANARY"), "{debug}");
}

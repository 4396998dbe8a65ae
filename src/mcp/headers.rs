//! Request-body values the Streamable HTTP transport mirrors into headers (2026-07-28,
//! SEP-2243): the encoding of `Mcp-Name` and `Mcp-Param-{Name}` values, and the
//! `x-mcp-header` declarations in a tool's `inputSchema` that say which arguments become
//! `Mcp-Param-*` headers.
//!
//! Why here: a header value comes from a tool argument, which a model or a server chose,
//! so nothing of it may reach a header line raw (THREATS 37). A value that is not plain
//! visible ASCII with inner spaces only (CR, LF, tab, other controls, non-ASCII, leading
//! or trailing space, or text that looks like the encoding itself) is sent as
//! `=?base64?{Base64 of its UTF-8}?=`. A declaration that breaks the spec's rules makes
//! its tool invalid: the bridge leaves such a tool out of `tools/list` and refuses calls
//! to it, so a header name is always an RFC 9110 token.
//!
//! Not here: which request is being sent and when (`ops::bridge`). `$ref`s are never
//! followed: a declaration behind one is not statically reachable, so it is invalid.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// Integers outside this range lose precision in JavaScript; the spec forbids them.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// `true` for an RFC 9110 token (`1*tchar`): no space, colon, control or non-ASCII.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `true` for a non-empty value of visible ASCII only (0x21-0x7E): safe on a header line
/// as it is.
pub fn is_visible(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The header form of a value: as it is when it is plain visible ASCII with at most inner
/// spaces, else the Base64 sentinel of its UTF-8 bytes.
pub fn encode_value(value: &str) -> String {
    let sentinel = value.starts_with("=?base64?") && value.ends_with("?=");
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !sentinel;
    if plain {
        value.to_string()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(value.as_bytes()))
    }
}

/// One `x-mcp-header` declaration: the argument at `path` (a chain of `properties` keys)
/// is sent as `Mcp-Param-{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    pub path: Vec<String>,
    pub name: String,
}

impl ParamHeader {
    pub fn header_name(&self) -> String {
        format!("Mcp-Param-{}", self.name)
    }
}

/// Keywords whose value is one subschema.
const ONE: &[&str] = &[
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
];
/// Keywords whose value is a list of subschemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to subschemas (other than `properties`).
const MAP: &[&str] = &[
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// The declarations in a tool's `inputSchema`, or why the tool is invalid.
pub fn param_headers(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut out = Vec::new();
    walk(schema, Some(Vec::new()), 0, &mut out)?;
    Ok(out)
}

/// `path`: the `properties` chain from the root, `None` once the walk left it.
fn walk(
    schema: &Value,
    path: Option<Vec<String>>,
    depth: usize,
    out: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    let Some(obj) = schema.as_object() else {
        return Ok(());
    };
    if depth > 64 {
        return Err("its inputSchema is nested too deeply to check".into());
    }
    if let Some(decl) = obj.get("x-mcp-header") {
        let Some(name) = decl.as_str() else {
            return Err("an x-mcp-header value is not a string".into());
        };
        let shown: String = name.escape_default().take(80).collect();
        let path = match &path {
            Some(p) if !p.is_empty() => p.clone(),
            _ => {
                return Err(format!(
                    "x-mcp-header `{shown}` is not on a property reached through `properties` alone"
                ));
            }
        };
        if name.is_empty() {
            return Err(format!("x-mcp-header on `{}` is empty", path.join(".")));
        }
        if !is_token(name) {
            return Err(format!(
                "x-mcp-header `{shown}` is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"
            ));
        }
        if let Some(t) = primitive_type(obj.get("type")).err() {
            return Err(format!(
                "x-mcp-header `{name}` is on `{}` of type {t}; only string, integer and boolean parameters may be mirrored",
                path.join(".")
            ));
        }
        if out.iter().any(|h| h.name.eq_ignore_ascii_case(name)) {
            return Err(format!("x-mcp-header `{name}` is declared twice"));
        }
        out.push(ParamHeader {
            path,
            name: name.to_string(),
        });
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            let child = path.as_ref().map(|p| {
                let mut c = p.clone();
                c.push(key.clone());
                c
            });
            walk(sub, child, depth + 1, out)?;
        }
    }
    for k in ONE {
        match obj.get(*k) {
            Some(Value::Array(list)) => {
                for sub in list {
                    walk(sub, None, depth + 1, out)?;
                }
            }
            Some(sub) => walk(sub, None, depth + 1, out)?,
            None => {}
        }
    }
    for k in LIST {
        for sub in obj.get(*k).and_then(Value::as_array).into_iter().flatten() {
            walk(sub, None, depth + 1, out)?;
        }
    }
    for k in MAP {
        for sub in obj.get(*k).and_then(Value::as_object).into_iter().flatten() {
            walk(sub.1, None, depth + 1, out)?;
        }
    }
    Ok(())
}

/// `Ok` for `string`, `integer`, `boolean` (alone or with `null`); else the type as text.
fn primitive_type(t: Option<&Value>) -> Result<(), String> {
    let ok = |s: &str| matches!(s, "string" | "integer" | "boolean");
    match t {
        Some(Value::String(s)) if ok(s) => Ok(()),
        Some(Value::Array(list)) => {
            let named: Vec<&str> = list
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| *s != "null")
                .collect();
            if named.len() == 1 && ok(named[0]) && list.iter().all(Value::is_string) {
                Ok(())
            } else {
                Err(Value::Array(list.clone()).to_string())
            }
        }
        Some(other) => Err(other.to_string()),
        None => Err("(none given)".into()),
    }
}

/// The `Mcp-Param-*` headers for a call's `arguments`: one per declaration with a
/// non-null value, encoded. An argument that has no header form (an object, an array, a
/// fraction, an integer beyond 2^53-1) is an error: the call is not sent.
pub fn mirror(
    decls: &[ParamHeader],
    arguments: Option<&Value>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for d in decls {
        let mut v = arguments;
        for key in &d.path {
            v = v.and_then(|x| x.get(key));
        }
        let text = match v {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => encode_value(s),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => match safe_integer(n) {
                Some(i) => i.to_string(),
                None => {
                    return Err(format!(
                        "argument `{}` ({n}) cannot be sent as header {}: only integers up to 2^53-1 can",
                        d.path.join("."),
                        d.header_name()
                    ));
                }
            },
            Some(_) => {
                return Err(format!(
                    "argument `{}` cannot be sent as header {}: it is not a string, integer or boolean",
                    d.path.join("."),
                    d.header_name()
                ));
            }
        };
        out.push((d.header_name(), text));
    }
    Ok(out)
}

fn safe_integer(n: &serde_json::Number) -> Option<i64> {
    let i = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i,
        (None, Some(f)) if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64 => f as i64,
        _ => return None,
    };
    (i.abs() <= MAX_SAFE_INTEGER).then_some(i)
}

/// The tools of a `tools/list` result: the declarations of each valid tool, and the
/// invalid ones (name, reason), which are removed from `result.tools`.
pub type ToolCheck = (Vec<(String, Vec<ParamHeader>)>, Vec<(String, String)>);

pub fn check_tools(result: &mut Value) -> ToolCheck {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
        return (valid, invalid);
    };
    tools.retain(|tool| {
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match param_headers(tool.get("inputSchema").unwrap_or(&Value::Null)) {
            Ok(decls) => {
                valid.push((name, decls));
                true
            }
            Err(why) => {
                invalid.push((name, why));
                false
            }
        }
    });
    (valid, invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: &str) -> String {
        let inner = v
            .strip_prefix("=?base64?")
            .and_then(|r| r.strip_suffix("?="))
            .expect("sentinel");
        String::from_utf8(STANDARD.decode(inner).expect("base64")).expect("utf-8")
    }

    fn safe_on_a_header_line(v: &str) -> bool {
        v.bytes().all(|b| (0x20..=0x7e).contains(&b))
    }

    #[test]
    fn plain_ascii_values_are_sent_as_they_are() {
        for v in ["us-west1", "us west 1", "SELECT * FROM users", "", "42"] {
            assert_eq!(encode_value(v), v);
        }
    }

    #[test]
    fn a_value_with_cr_or_lf_is_base64_encoded_and_never_reaches_the_header_line_raw() {
        for v in [
            "line1\r\nline2",
            "line1\nline2",
            "a\rSet-Cookie: x",
            "x\r\nMcp-Param-Admin: true",
        ] {
            let e = encode_value(v);
            assert!(safe_on_a_header_line(&e), "{e:?}");
            assert!(!e.contains('\r') && !e.contains('\n'));
            assert_eq!(decode(&e), v);
        }
        assert_eq!(encode_value("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
    }

    #[test]
    fn a_non_ascii_value_is_base64_encoded_and_never_reaches_the_header_line_raw() {
        for v in [
            "Hello, 世界",
            "Région",
            "caf\u{e9}",
            "\u{85}next-line",
            "🔑",
        ] {
            let e = encode_value(v);
            assert!(e.is_ascii() && safe_on_a_header_line(&e), "{e:?}");
            assert_eq!(decode(&e), v);
        }
        assert_eq!(
            encode_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
    }

    #[test]
    fn tabs_other_controls_edge_spaces_and_sentinel_lookalikes_are_encoded() {
        for v in [
            "\tindented",
            "a\u{0}b",
            "a\u{7f}b",
            " padded ",
            " us-west1",
            "us-west1 ",
        ] {
            let e = encode_value(v);
            assert!(e.starts_with("=?base64?"), "{v:?} -> {e}");
            assert_eq!(decode(&e), v);
        }
        assert_eq!(
            encode_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
    }

    fn tool(props: Value) -> Value {
        json!({"type": "object", "properties": props})
    }

    #[test]
    fn declarations_on_primitive_properties_are_found_at_their_property_path() {
        let schema = tool(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "Priority"},
            "opt": {"type": ["boolean", "null"], "x-mcp-header": "Verbose"},
            "nested": {"type": "object", "properties": {
                "zone": {"type": "string", "x-mcp-header": "Zone"}}},
            "x-mcp-header": {"type": "string"},
            "query": {"type": "string", "default": {"x-mcp-header": "NotASchema"}}
        }));
        let got = param_headers(&schema).expect("valid");
        let names: Vec<(String, String)> = got
            .iter()
            .map(|h| (h.path.join("."), h.name.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("region".to_string(), "Region".to_string()),
                ("n".into(), "Priority".into()),
                ("opt".into(), "Verbose".into()),
                ("nested.zone".into(), "Zone".into()),
            ]
        );
    }

    #[test]
    fn invalid_declarations_make_the_tool_invalid() {
        let bad = [
            tool(json!({"v": {"type": "string", "x-mcp-header": ""}})),
            tool(json!({"v": {"type": "object", "x-mcp-header": "Data"}})),
            tool(json!({"v": {"type": "array", "x-mcp-header": "Items"}})),
            tool(json!({"v": {"type": "null", "x-mcp-header": "Nil"}})),
            tool(json!({"v": {"type": "number", "x-mcp-header": "Score"}})),
            tool(json!({"v": {"x-mcp-header": "Untyped"}})),
            tool(json!({"a": {"type": "string", "x-mcp-header": "Region"},
                        "b": {"type": "string", "x-mcp-header": "region"}})),
            tool(json!({"v": {"type": "string", "x-mcp-header": "My Region"}})),
            tool(json!({"v": {"type": "string", "x-mcp-header": "Region:Primary"}})),
            tool(json!({"v": {"type": "string", "x-mcp-header": "Région"}})),
            tool(json!({"v": {"type": "string", "x-mcp-header": "Region\t1"}})),
            tool(json!({"v": {"type": "string", "x-mcp-header": "A\r\nB"}})),
            tool(json!({"v": {"type": "string", "x-mcp-header": 7}})),
            json!({"type": "object", "x-mcp-header": "Root"}),
            json!({"type": "array", "items": {"type": "string", "x-mcp-header": "Item"}}),
            json!({"anyOf": [{"type": "string", "x-mcp-header": "Any"}]}),
            json!({"$defs": {"d": {"type": "string", "x-mcp-header": "Def"}},
                   "properties": {"v": {"$ref": "#/$defs/d"}}}),
            json!({"if": {"properties": {"v": {"type": "string", "x-mcp-header": "If"}}}}),
        ];
        for schema in bad {
            assert!(param_headers(&schema).is_err(), "{schema}");
        }
    }

    #[test]
    fn refs_are_kept_as_they_are_and_never_followed() {
        let schema = json!({
            "type": "object",
            "$defs": {"userId": {"type": "string"}},
            "properties": {
                "id": {"$ref": "#/$defs/userId"},
                "profile": {"$ref": "http://127.0.0.1:9/canary/profile-schema.json"}
            }
        });
        let mut result = json!({"tools": [{"name": "lookup_user", "inputSchema": schema.clone()}]});
        let before = result.clone();
        let (valid, invalid) = check_tools(&mut result);
        assert!(invalid.is_empty());
        assert_eq!(valid, [("lookup_user".to_string(), Vec::new())]);
        assert_eq!(
            result, before,
            "the schema is left exactly as the server sent it"
        );
    }

    #[test]
    fn mirrored_arguments_are_converted_encoded_and_null_or_absent_ones_omitted() {
        let decls = param_headers(&tool(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "Priority"},
            "b": {"type": "boolean", "x-mcp-header": "Debug"},
            "crlf": {"type": "string", "x-mcp-header": "CrLf"},
            "gone": {"type": "boolean", "x-mcp-header": "Verbose"},
            "nil": {"type": "string", "x-mcp-header": "Nil"}
        })))
        .expect("valid");
        let args = json!({"region": "us-west1", "n": 42.0, "b": false,
                          "crlf": "a\r\nb", "nil": null, "query": "SELECT 1"});
        let got = mirror(&decls, Some(&args)).expect("mirrored");
        assert_eq!(
            got,
            [
                ("Mcp-Param-Region".to_string(), "us-west1".to_string()),
                ("Mcp-Param-Priority".into(), "42".into()),
                ("Mcp-Param-Debug".into(), "false".into()),
                ("Mcp-Param-CrLf".into(), "=?base64?YQ0KYg==?=".into()),
            ]
        );
        for bad in [
            json!({"n": 2.5}),
            json!({"n": 9007199254740992_i64}),
            json!({"b": [true]}),
        ] {
            assert!(mirror(&decls, Some(&bad)).is_err(), "{bad}");
        }
        assert_eq!(mirror(&decls, None).expect("none"), []);
    }

    #[test]
    fn invalid_tools_are_removed_from_a_listing_and_valid_ones_kept() {
        let mut result = json!({"tools": [
            {"name": "ok", "inputSchema": tool(json!({"r": {"type": "string", "x-mcp-header": "Region"}}))},
            {"name": "bad", "inputSchema": tool(json!({"r": {"type": "string", "x-mcp-header": "A B"}}))},
            {"name": "plain", "inputSchema": {"type": "object"}}
        ], "nextCursor": "c"});
        let (valid, invalid) = check_tools(&mut result);
        assert_eq!(valid.len(), 2);
        assert_eq!(invalid.len(), 1);
        assert_eq!(invalid[0].0, "bad");
        let names: Vec<&str> = result["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(names, ["ok", "plain"]);
        assert_eq!(result["nextCursor"], "c");
    }
}

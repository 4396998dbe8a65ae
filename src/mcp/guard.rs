//! The tool guard's pure part: which messages of a stdio MCP session it acts on, what it
//! does to them, and the canonical hash tool definitions are pinned by.
//!
//! A [`Guard`] sees every line (one JSON-RPC message, or a batch) in both directions and
//! answers with an action: pass it on unchanged (almost everything), pass on a filtered
//! copy (a `tools/list` result without the tools the policy denies or that are held), or
//! answer it itself (a `tools/call` of a tool that is not allowed; it never reaches the
//! server). It changes its copy of the server's [`ToolGuard`] (new pins, held tools) and
//! reports what changed and what to audit; the caller persists and audits.
//!
//! Speed: a line is only parsed when it can matter. From the client, a line without
//! `tools/` and without a backslash (an escaped name could hide it) is passed on
//! unparsed; from the server, nothing is parsed while no `tools/list` or `tools/call` is
//! waiting for its answer. A parsed message is read for its head only (`id`, `method`,
//! the tool's name, `isError`); arguments and results are skipped, never copied.
//!
//! What this does not do: read or write files, the clock, the audit log or processes
//! (`ops::relay` does), or judge the server's answers beyond the tool list.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::store::state::{HeldTool, ToolGuard, ToolPolicy};

/// The JSON-RPC error code of a call the guard refuses (invalid params: the tool is not
/// one the client may call).
pub const REFUSED: i64 = -32602;

/// The fields of a tool definition that are pinned.
pub const PINNED_FIELDS: [&str; 6] = [
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
];

/// What a tool may do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ToolState {
    /// Listed and callable.
    Allowed,
    /// The policy does not allow it.
    Denied,
    /// Appeared after the first listing; held until approved.
    HeldNew,
    /// Its definition differs from the pinned one; held until approved.
    HeldChanged,
    /// Never listed by the server: the guard does not know what it is.
    Unknown,
}

impl ToolState {
    pub fn text(self) -> &'static str {
        match self {
            ToolState::Allowed => "allowed",
            ToolState::Denied => "denied",
            ToolState::HeldNew => "held-new",
            ToolState::HeldChanged => "held-changed",
            ToolState::Unknown => "unknown",
        }
    }

    pub fn is_held(self) -> bool {
        matches!(self, ToolState::HeldNew | ToolState::HeldChanged)
    }
}

/// The part of a tool definition that is pinned, in canonical form: only
/// [`PINNED_FIELDS`], object keys sorted at every depth.
pub fn pinned_part(tool: &Value) -> Value {
    let mut out = Map::new();
    if let Some(obj) = tool.as_object() {
        let mut keys: Vec<&str> = PINNED_FIELDS
            .iter()
            .copied()
            .filter(|k| obj.contains_key(*k))
            .collect();
        keys.sort_unstable();
        for k in keys {
            out.insert(k.to_string(), sorted(&obj[k]));
        }
    }
    Value::Object(out)
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `sha256:<hex>` of the canonical JSON of the tool's pinned fields (sorted keys, no
/// whitespace): the same definition hashes the same whatever the key order on the wire.
pub fn tool_hash(tool: &Value) -> String {
    let canonical = pinned_part(tool).to_string();
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// The state `policy` and `record` give tool `name` (its annotations from the approved
/// definition, else the held one). A tool the guard never saw (`record` is `None`) is
/// judged by name: allowed while nothing is pinned yet (the first listing pins it) or new
/// tools are allowed, refused as unknown otherwise; a read-only policy refuses it (its
/// annotations are unknown).
pub fn tool_state(cfg: &ToolGuard, name: &str) -> ToolState {
    let record = cfg.tools.get(name);
    let def = record.and_then(|r| {
        r.definition
            .as_ref()
            .or(r.held.as_ref().map(|h| &h.definition))
    });
    let denied = match &cfg.policy {
        ToolPolicy::AllowAll => false,
        ToolPolicy::Allow { names } => !names.iter().any(|n| n == name),
        ToolPolicy::Deny { names } => names.iter().any(|n| n == name),
        ToolPolicy::ReadOnly => {
            def.and_then(|d| d.pointer("/annotations/readOnlyHint"))
                .and_then(Value::as_bool)
                != Some(true)
        }
    };
    match record {
        _ if denied => ToolState::Denied,
        None if cfg.first_seen.is_none() || !cfg.hold_new => ToolState::Allowed,
        None => ToolState::Unknown,
        Some(r) if r.held.is_some() && r.pinned.is_some() => ToolState::HeldChanged,
        Some(r) if r.held.is_some() || r.pinned.is_none() => ToolState::HeldNew,
        Some(_) => ToolState::Allowed,
    }
}

/// Something the caller should record in the audit log.
#[derive(Debug, Clone, PartialEq)]
pub enum Note<T> {
    /// An allowed call was answered (`error`: a JSON-RPC error or `isError: true`).
    Called {
        tool: String,
        started: T,
        error: bool,
    },
    /// A call was refused by the guard.
    Refused { tool: String, state: ToolState },
    /// A tool was held (new or changed) when the server listed it.
    Held { tool: String, state: ToolState },
    /// The server's tools were seen for the first time and pinned.
    Pinned { tools: usize },
}

/// What to do with a line from the client.
#[derive(Debug, PartialEq)]
pub enum FromClient {
    /// Send it to the server unchanged.
    Forward,
    /// Send `forward` (if any) to the server instead, and `reply` to the client.
    Answer {
        forward: Option<Vec<u8>>,
        reply: Vec<u8>,
    },
}

/// What to do with a line from the server.
#[derive(Debug, PartialEq)]
pub enum FromServer {
    /// Send it to the client unchanged.
    Forward,
    /// Send this (the filtered tool list) instead.
    Replace(Vec<u8>),
}

/// One guarded session's view of a server's tools; `T` is the caller's timestamp (the
/// relay passes `Instant`s, tests anything).
#[derive(Debug)]
pub struct Guard<T> {
    server_id: String,
    cfg: ToolGuard,
    /// Ids (canonical JSON) of the client's `tools/list` requests not yet answered.
    lists: HashSet<String>,
    /// Ids of allowed `tools/call` requests not yet answered: tool and start.
    calls: HashMap<String, (String, T)>,
    notes: Vec<Note<T>>,
    /// Tools whose record changed (to persist), and whether `first_seen` was set.
    dirty: Vec<String>,
    first_seen_now: bool,
}

/// The head of one message: what the guard needs, every other field skipped.
#[derive(Debug, Default, PartialEq)]
struct Head {
    id: Option<String>,
    method: Option<String>,
    tool: Option<String>,
    /// A tools/call whose `params.name` is not a string.
    bad_call: bool,
    response: bool,
    error: bool,
}

#[derive(Deserialize)]
struct WireHead<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(borrow, default)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    params: Option<ParamsHead>,
    #[serde(default)]
    result: Option<ResultHead>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

/// `params.name` when it is a string; any other shape reads as "no name".
#[derive(Default)]
struct ParamsHead {
    name: Option<String>,
    bad: bool,
}

/// `result.isError`; any other shape reads as "not an error".
#[derive(Default)]
struct ResultHead {
    is_error: bool,
}

/// Visits any JSON value; for an object, hands each key to `field`, which reads the value
/// it wants (`Some`) or lets it be skipped (`None`). Any other value gives the default.
struct Fields<T, F>(F, std::marker::PhantomData<T>);

impl<'de, T: Default, F: FnMut(&mut T, &str, Value)> Visitor<'de> for Fields<T, (F, &'static str)> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<T, A::Error> {
        let mut out = T::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.0.1 {
                let v: Value = map.next_value()?;
                (self.0.0)(&mut out, &key, v);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }
}

impl<'de> Deserialize<'de> for ParamsHead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = |out: &mut ParamsHead, _: &str, v: Value| match v {
            Value::String(s) => {
                out.name = Some(s);
                out.bad = false;
            }
            _ => {
                out.name = None;
                out.bad = true;
            }
        };
        d.deserialize_any(Fields((f, "name"), std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for ResultHead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = |out: &mut ResultHead, _: &str, v: Value| out.is_error = v == Value::Bool(true);
        d.deserialize_any(Fields((f, "isError"), std::marker::PhantomData))
    }
}

fn id_key(id: &Value) -> String {
    id.to_string()
}

fn head_of_value(v: &Value) -> Head {
    let method = v.get("method").and_then(Value::as_str).map(str::to_string);
    let name = v.pointer("/params/name");
    Head {
        id: v.get("id").filter(|i| !i.is_null()).map(id_key),
        tool: name.and_then(Value::as_str).map(str::to_string),
        bad_call: method.as_deref() == Some("tools/call") && !name.is_some_and(Value::is_string),
        response: v.get("method").is_none()
            && (v.get("result").is_some() || v.get("error").is_some()),
        error: v.get("error").is_some() || v.pointer("/result/isError") == Some(&Value::Bool(true)),
        method,
    }
}

/// The head of one message; `None` when it is not a JSON object. A message serde's
/// strict reading refuses (a duplicate key) is read as a JSON value, last key winning,
/// as JavaScript's `JSON.parse` does.
fn head(line: &[u8]) -> Option<Head> {
    match serde_json::from_slice::<WireHead<'_>>(line) {
        Ok(w) => {
            let params = w.params.unwrap_or_default();
            let is_call = w.method.as_deref() == Some("tools/call");
            Some(Head {
                id: w.id.as_ref().filter(|i| !i.is_null()).map(id_key),
                bad_call: is_call && (params.bad || params.name.is_none()),
                tool: params.name,
                response: w.method.is_none() && (w.result.is_some() || w.error.is_some()),
                error: w.error.is_some() || w.result.is_some_and(|r| r.is_error),
                method: w.method.map(|m| m.into_owned()),
            })
        }
        Err(_) => {
            let v: Value = serde_json::from_slice(line).ok()?;
            v.is_object().then(|| head_of_value(&v))
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

fn first_byte(line: &[u8]) -> Option<u8> {
    line.iter().copied().find(|b| !b.is_ascii_whitespace())
}

impl<T: Copy> Guard<T> {
    pub fn new(server_id: impl Into<String>, cfg: ToolGuard) -> Self {
        Guard {
            server_id: server_id.into(),
            cfg,
            lists: HashSet::new(),
            calls: HashMap::new(),
            notes: Vec::new(),
            dirty: Vec::new(),
            first_seen_now: false,
        }
    }

    pub fn config(&self) -> &ToolGuard {
        &self.cfg
    }

    /// The state of tool `name` now.
    pub fn state_of(&self, name: &str) -> ToolState {
        tool_state(&self.cfg, name)
    }

    /// Take what to audit.
    pub fn take_notes(&mut self) -> Vec<Note<T>> {
        std::mem::take(&mut self.notes)
    }

    /// Take the names of tools whose records changed (to persist), and whether the
    /// first listing was just pinned. Empty and `false` when nothing changed.
    pub fn take_dirty(&mut self) -> (Vec<String>, bool) {
        (
            std::mem::take(&mut self.dirty),
            std::mem::replace(&mut self.first_seen_now, false),
        )
    }

    /// Use `cfg` (the state changed: a policy, an approval). Returns whether the set of
    /// tools the client may see changed (then it should be told to list them again).
    pub fn reload(&mut self, cfg: ToolGuard) -> bool {
        let visible = |c: &ToolGuard| -> Vec<String> {
            c.tools
                .keys()
                .filter(|n| tool_state(c, n) == ToolState::Allowed)
                .cloned()
                .collect()
        };
        let changed = visible(&self.cfg) != visible(&cfg);
        self.cfg = cfg;
        changed
    }

    /// A line from the client (without its `\n`). `now`: when it arrived.
    pub fn from_client(&mut self, line: &[u8], now: T) -> FromClient {
        if !contains(line, b"tools/") && memchr::memchr(b'\\', line).is_none() {
            return FromClient::Forward;
        }
        if first_byte(line) == Some(b'[') {
            return self.client_batch(line, now);
        }
        let Some(h) = head(line) else {
            return FromClient::Forward;
        };
        match self.client_msg(&h, now) {
            None => FromClient::Forward,
            Some(reply) => FromClient::Answer {
                forward: None,
                reply: reply
                    .map(|r| r.to_string().into_bytes())
                    .unwrap_or_default(),
            },
        }
    }

    /// `None`: forward. `Some(reply)`: do not forward; answer with `reply` (none for a
    /// notification).
    fn client_msg(&mut self, h: &Head, now: T) -> Option<Option<Value>> {
        match h.method.as_deref() {
            Some("tools/list") => {
                if let Some(id) = &h.id {
                    self.lists.insert(id.clone());
                }
                None
            }
            Some("tools/call") => {
                let name = h.tool.clone().unwrap_or_default();
                let state = if h.bad_call {
                    ToolState::Unknown
                } else {
                    self.state_of(&name)
                };
                if state == ToolState::Allowed {
                    if let Some(id) = &h.id {
                        self.calls.insert(id.clone(), (name, now));
                    }
                    return None;
                }
                self.notes.push(Note::Refused {
                    tool: name.clone(),
                    state,
                });
                let id =
                    h.id.as_deref()
                        .and_then(|i| serde_json::from_str::<Value>(i).ok());
                Some(id.map(|id| self.refusal(&id, &name, state, h.bad_call)))
            }
            _ => None,
        }
    }

    /// The JSON-RPC error the guard answers a refused call with.
    fn refusal(&self, id: &Value, name: &str, state: ToolState, bad: bool) -> Value {
        let sid = &self.server_id;
        let message = if bad {
            "keybroker: a tools/call without a tool name is not passed on".to_string()
        } else {
            match state {
                ToolState::Denied => format!(
                    "keybroker: tool `{name}` of `{sid}` is not allowed by its tool policy; to allow it run `keybroker tools {sid} --allow {name}`"
                ),
                ToolState::HeldNew => format!(
                    "keybroker: tool `{name}` of `{sid}` is new and held until you approve it; review it with `keybroker tools {sid}` and run `keybroker tools {sid} --approve {name}`"
                ),
                ToolState::HeldChanged => format!(
                    "keybroker: tool `{name}` of `{sid}` changed since you approved it and is held; review the change with `keybroker tools {sid}` and run `keybroker tools {sid} --approve {name}`"
                ),
                ToolState::Unknown | ToolState::Allowed => format!(
                    "keybroker: tool `{name}` is not in the tool list of `{sid}`; list the tools first (`keybroker tools {sid}` shows what the guard has seen)"
                ),
            }
        };
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {
                "code": REFUSED,
                "message": message,
                "data": {"keybroker": {"server": sid, "tool": name, "state": state.text()}},
            }
        })
    }

    fn client_batch(&mut self, line: &[u8], now: T) -> FromClient {
        let Ok(items) = serde_json::from_slice::<Vec<Value>>(line) else {
            return FromClient::Forward;
        };
        let mut keep = Vec::with_capacity(items.len());
        let mut replies = Vec::new();
        for item in items {
            let h = head_of_value(&item);
            match self.client_msg(&h, now) {
                None => keep.push(item),
                Some(reply) => replies.extend(reply),
            }
        }
        if replies.is_empty() {
            return FromClient::Forward;
        }
        FromClient::Answer {
            forward: (!keep.is_empty()).then(|| Value::Array(keep).to_string().into_bytes()),
            reply: Value::Array(replies).to_string().into_bytes(),
        }
    }

    /// A line from the server (without its `\n`).
    pub fn from_server(&mut self, line: &[u8]) -> FromServer {
        if self.lists.is_empty() && self.calls.is_empty() {
            return FromServer::Forward;
        }
        if first_byte(line) == Some(b'[') {
            return self.server_batch(line);
        }
        let Some(h) = head(line) else {
            return FromServer::Forward;
        };
        if !h.response {
            return FromServer::Forward;
        }
        let Some(id) = &h.id else {
            return FromServer::Forward;
        };
        if let Some((tool, started)) = self.calls.remove(id) {
            self.notes.push(Note::Called {
                tool,
                started,
                error: h.error,
            });
            return FromServer::Forward;
        }
        if self.lists.remove(id) && !h.error {
            let Ok(mut v) = serde_json::from_slice::<Value>(line) else {
                return FromServer::Forward;
            };
            if self.filter_list(&mut v) {
                return FromServer::Replace(v.to_string().into_bytes());
            }
        }
        FromServer::Forward
    }

    fn server_batch(&mut self, line: &[u8]) -> FromServer {
        let Ok(mut items) = serde_json::from_slice::<Vec<Value>>(line) else {
            return FromServer::Forward;
        };
        let mut changed = false;
        for item in &mut items {
            let h = head_of_value(item);
            let Some(id) = h.id.filter(|_| h.response) else {
                continue;
            };
            if let Some((tool, started)) = self.calls.remove(&id) {
                self.notes.push(Note::Called {
                    tool,
                    started,
                    error: h.error,
                });
            } else if self.lists.remove(&id) && !h.error {
                changed |= self.filter_list(item);
            }
        }
        if changed {
            FromServer::Replace(Value::Array(items).to_string().into_bytes())
        } else {
            FromServer::Forward
        }
    }

    /// Check a `tools/list` response against the pins and the policy; remove what the
    /// client may not see. Returns whether anything was removed.
    fn filter_list(&mut self, msg: &mut Value) -> bool {
        let Some(tools) = msg
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let first = self.cfg.first_seen.is_none();
        let mut pinned_now = 0;
        for tool in tools.iter() {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            let hash = tool_hash(tool);
            let def = pinned_part(tool);
            let hold_new = self.cfg.hold_new;
            let rec = self.cfg.tools.get(name);
            let mut next = rec.cloned().unwrap_or_default();
            match rec {
                None if first || !hold_new => {
                    next.pinned = Some(hash);
                    next.definition = Some(def);
                    pinned_now += 1;
                }
                None => {
                    next.held = Some(HeldTool {
                        hash,
                        definition: def,
                        since: String::new(),
                    });
                }
                Some(r) if r.pinned.as_deref() == Some(hash.as_str()) => {
                    next.held = None;
                }
                Some(r) if r.held.as_ref().is_some_and(|h| h.hash == hash) => {}
                Some(_) => {
                    next.held = Some(HeldTool {
                        hash,
                        definition: def,
                        since: String::new(),
                    });
                }
            }
            if Some(&next) != self.cfg.tools.get(name) {
                let was_held = self.cfg.tools.get(name).is_some_and(|r| r.held.is_some());
                self.cfg.tools.insert(name.to_string(), next);
                if !self.dirty.iter().any(|d| d == name) {
                    self.dirty.push(name.to_string());
                }
                let state = self.state_of(name);
                if state.is_held() && !was_held {
                    self.notes.push(Note::Held {
                        tool: name.to_string(),
                        state,
                    });
                }
            }
        }
        if first {
            // The caller records the time when it persists this.
            self.cfg.first_seen = Some(String::new());
            self.first_seen_now = true;
            self.notes.push(Note::Pinned { tools: pinned_now });
        }
        let before = tools.len();
        let cfg = &self.cfg;
        tools.retain(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| tool_state(cfg, n) == ToolState::Allowed)
        });
        tools.len() != before
    }
}

/// Stdio framing: split `buf` into complete lines (without their `\n`; a `\r` before it
/// kept, as it is part of the message bytes) and the unterminated rest.
pub fn split_lines(buf: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut lines = Vec::new();
    let mut rest = buf;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        lines.push(&rest[..i]);
        rest = &rest[i + 1..];
    }
    (lines, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list_result(id: u64, tools: Value) -> Vec<u8> {
        json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools}})
            .to_string()
            .into_bytes()
    }

    fn tool(name: &str, desc: &str, ro: bool) -> Value {
        json!({"name": name, "description": desc, "inputSchema": {"type": "object"},
               "annotations": {"readOnlyHint": ro}})
    }

    fn list(g: &mut Guard<u32>, id: u64, tools: Value) -> Value {
        let req = json!({"jsonrpc":"2.0","id":id,"method":"tools/list"}).to_string();
        assert_eq!(g.from_client(req.as_bytes(), 0), FromClient::Forward);
        let res = list_result(id, tools);
        match g.from_server(&res) {
            FromServer::Forward => serde_json::from_slice(&res).unwrap(),
            FromServer::Replace(b) => serde_json::from_slice(&b).unwrap(),
        }
    }

    fn names(v: &Value) -> Vec<String> {
        v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn call(g: &mut Guard<u32>, id: u64, name: &str) -> FromClient {
        let req = json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":name,"arguments":{}}});
        g.from_client(req.to_string().as_bytes(), 7)
    }

    #[test]
    fn the_hash_ignores_key_order_and_other_fields_but_not_a_description() {
        let a =
            json!({"name": "x", "description": "d", "inputSchema": {"a": 1, "b": 2}, "extra": 1});
        let b = json!({"inputSchema": {"b": 2, "a": 1}, "description": "d", "name": "x"});
        assert_eq!(tool_hash(&a), tool_hash(&b));
        let c = json!({"name": "x", "description": "d!", "inputSchema": {"a": 1, "b": 2}});
        assert_ne!(tool_hash(&a), tool_hash(&c));
        assert!(tool_hash(&a).starts_with("sha256:"));
    }

    #[test]
    fn first_listing_pins_everything_and_a_new_tool_is_held_then_refused() {
        let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
        let v = list(
            &mut g,
            1,
            json!([tool("read", "r", true), tool("rm", "x", false)]),
        );
        assert_eq!(names(&v), ["read", "rm"]);
        assert!(matches!(g.take_notes()[..], [Note::Pinned { tools: 2 }]));
        assert!(g.take_dirty().1);
        let v = list(
            &mut g,
            2,
            json!([tool("read", "r", true), tool("new", "n", false)]),
        );
        assert_eq!(names(&v), ["read"]);
        assert_eq!(g.state_of("new"), ToolState::HeldNew);
        match call(&mut g, 3, "new") {
            FromClient::Answer {
                forward: None,
                reply,
            } => {
                let r: Value = serde_json::from_slice(&reply).unwrap();
                assert_eq!(r["id"], 3);
                assert_eq!(r["error"]["code"], REFUSED);
                assert!(
                    r["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("keybroker tools h/s --approve new")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(call(&mut g, 4, "read"), FromClient::Forward);
    }

    #[test]
    fn a_changed_description_is_held_and_a_revert_releases_it() {
        let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
        list(&mut g, 1, json!([tool("a", "one", true)]));
        let v = list(&mut g, 2, json!([tool("a", "two", true)]));
        assert!(names(&v).is_empty());
        assert_eq!(g.state_of("a"), ToolState::HeldChanged);
        assert!(g.take_notes().iter().any(|n| matches!(
            n,
            Note::Held {
                state: ToolState::HeldChanged,
                ..
            }
        )));
        let v = list(&mut g, 3, json!([tool("a", "one", true)]));
        assert_eq!(names(&v), ["a"]);
    }

    #[test]
    fn policies_deny_allow_and_read_only() {
        let mut cfg = ToolGuard::default();
        let mut g: Guard<u32> = Guard::new("h/s", cfg.clone());
        list(
            &mut g,
            1,
            json!([tool("read", "r", true), tool("rm", "x", false)]),
        );
        cfg = g.config().clone();
        for (policy, want) in [
            (
                ToolPolicy::Deny {
                    names: vec!["rm".into()],
                },
                vec!["read"],
            ),
            (
                ToolPolicy::Allow {
                    names: vec!["rm".into()],
                },
                vec!["rm"],
            ),
            (ToolPolicy::ReadOnly, vec!["read"]),
            (ToolPolicy::AllowAll, vec!["read", "rm"]),
        ] {
            let mut c = cfg.clone();
            c.policy = policy;
            g.reload(c);
            let v = list(
                &mut g,
                9,
                json!([tool("read", "r", true), tool("rm", "x", false)]),
            );
            assert_eq!(names(&v), want);
        }
    }

    #[test]
    fn calls_are_noted_with_their_outcome_and_unrelated_lines_pass() {
        let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
        list(&mut g, 1, json!([tool("read", "r", true)]));
        g.take_notes();
        assert_eq!(call(&mut g, 5, "read"), FromClient::Forward);
        let res = br#"{"jsonrpc":"2.0","id":5,"result":{"content":[],"isError":true}}"#;
        assert_eq!(g.from_server(res), FromServer::Forward);
        assert_eq!(
            g.take_notes(),
            vec![Note::Called {
                tool: "read".into(),
                started: 7,
                error: true
            }]
        );
        for line in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"method":"ping","id":1}"#,
        ] {
            assert_eq!(g.from_client(line, 0), FromClient::Forward);
            assert_eq!(g.from_server(line), FromServer::Forward);
        }
    }

    #[test]
    fn an_escaped_method_or_duplicate_key_does_not_slip_a_call_past() {
        let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
        list(&mut g, 1, json!([tool("rm", "x", false)]));
        let mut c = g.config().clone();
        c.policy = ToolPolicy::Deny {
            names: vec!["rm".into()],
        };
        g.reload(c);
        for line in [
            r#"{"jsonrpc":"2.0","id":2,"method":"tools\/call","params":{"name":"rm"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"\u0074ools/call","params":{"name":"\u0072m"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"x","method":"tools/call","params":{"name":"rm"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ok","name":"rm"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":7}}"#,
            r#"[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rm"}}]"#,
        ] {
            assert!(
                matches!(
                    g.from_client(line.as_bytes(), 0),
                    FromClient::Answer { forward: None, .. }
                ),
                "{line}"
            );
        }
    }

    #[test]
    fn a_batch_keeps_what_is_allowed_and_answers_the_rest() {
        let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
        list(&mut g, 1, json!([tool("a", "x", false)]));
        let line = r#"[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"zz"}},{"jsonrpc":"2.0","method":"notifications/x"}]"#;
        match g.from_client(line.as_bytes(), 0) {
            FromClient::Answer {
                forward: Some(f),
                reply,
            } => {
                let f: Value = serde_json::from_slice(&f).unwrap();
                assert_eq!(f, json!([{"jsonrpc":"2.0","method":"notifications/x"}]));
                let r: Value = serde_json::from_slice(&reply).unwrap();
                assert_eq!(r[0]["id"], 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn split_lines_keeps_the_rest() {
        let (l, r) = split_lines(b"a\nb\r\nc");
        assert_eq!(l, vec![&b"a"[..], b"b\r"]);
        assert_eq!(r, b"c");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                "[ -~\u{e9}\u{4e2d}\u{1F680}\\\\\"]{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn other_method() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("initialize".to_string()),
                Just("ping".to_string()),
                Just("notifications/progress".to_string()),
                Just("notifications/cancelled".to_string()),
                Just("notifications/tools/list_changed".to_string()),
                Just("sampling/createMessage".to_string()),
                Just("elicitation/create".to_string()),
                Just("roots/list".to_string()),
                Just("resources/list".to_string()),
                "[a-z]{1,8}/[a-z]{1,8}",
            ]
        }

        fn pinned_guard(names: &[String]) -> Guard<u32> {
            let mut g: Guard<u32> = Guard::new("h/s", ToolGuard::default());
            let tools: Vec<Value> = names.iter().map(|n| tool(n, "d", false)).collect();
            list(&mut g, 1, Value::Array(tools));
            g.take_notes();
            g.take_dirty();
            g
        }

        proptest! {
            #[test]
            fn any_bytes_never_panic_and_plain_lines_pass_unparsed(line in prop::collection::vec(any::<u8>(), 0..256)) {
                let mut g = pinned_guard(&["a".to_string()]);
                // A pending list and call make the server side parse everything.
                g.from_client(br#"{"jsonrpc":"2.0","id":"L","method":"tools/list"}"#, 0);
                g.from_client(br#"{"jsonrpc":"2.0","id":"C","method":"tools/call","params":{"name":"a"}}"#, 0);
                let c = g.from_client(&line, 0);
                let plain = memchr::memmem::find(&line, b"tools/").is_none() && !line.contains(&b'\\');
                if plain {
                    prop_assert_eq!(&c, &FromClient::Forward);
                }
                if let FromClient::Answer { forward, reply } = c {
                    prop_assert!(!reply.contains(&b'\n'));
                    prop_assert!(forward.is_none_or(|f| !f.contains(&b'\n')));
                }
                if let FromServer::Replace(r) = g.from_server(&line) {
                    prop_assert!(!r.contains(&b'\n'));
                }
            }

            #[test]
            fn messages_the_guard_does_not_act_on_pass_unchanged_both_ways(
                method in other_method(),
                id in prop::option::of(0u64..1000),
                params in json_value(),
                extra in json_value(),
            ) {
                prop_assume!(method != "tools/call");
                let mut g = pinned_guard(&["a".to_string()]);
                g.from_client(br#"{"jsonrpc":"2.0","id":"L","method":"tools/list"}"#, 0);
                let mut msg = json!({"jsonrpc": "2.0", "method": method, "params": params, "x": extra});
                if let Some(id) = id {
                    msg["id"] = json!(id);
                }
                let line = msg.to_string().into_bytes();
                prop_assert_eq!(g.from_client(&line, 0), FromClient::Forward);
                prop_assert_eq!(g.from_server(&line), FromServer::Forward);
                let response = json!({"jsonrpc": "2.0", "id": id.unwrap_or(0), "result": extra}).to_string();
                prop_assert_eq!(g.from_server(response.as_bytes()), FromServer::Forward);
            }

            #[test]
            fn a_tool_list_loses_exactly_the_denied_tools_and_nothing_else(
                names in prop::collection::btree_set("[a-e]{1,2}", 1..8),
                deny in prop::collection::btree_set("[a-e]{1,2}", 0..4),
                meta in json_value(),
            ) {
                let names: Vec<String> = names.into_iter().collect();
                let mut g = pinned_guard(&names);
                let mut cfg = g.config().clone();
                cfg.policy = ToolPolicy::Deny { names: deny.iter().cloned().collect() };
                g.reload(cfg);
                let tools: Vec<Value> = names.iter().map(|n| tool(n, "d", false)).collect();
                let msg = json!({"jsonrpc":"2.0","id":5,"result":{"tools": tools, "nextCursor": "c", "_meta": meta}});
                g.from_client(br#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#, 0);
                let line = msg.to_string().into_bytes();
                let got: Value = match g.from_server(&line) {
                    FromServer::Forward => msg.clone(),
                    FromServer::Replace(b) => serde_json::from_slice(&b).expect("json"),
                };
                let mut want = msg.clone();
                want["result"]["tools"].as_array_mut().expect("tools")
                    .retain(|t| !deny.contains(t["name"].as_str().unwrap_or_default()));
                prop_assert_eq!(got, want);
                for n in &names {
                    let call = json!({"jsonrpc":"2.0","id":n,"method":"tools/call","params":{"name":n,"arguments":{}}});
                    let out = g.from_client(call.to_string().as_bytes(), 0);
                    prop_assert_eq!(matches!(out, FromClient::Answer { .. }), deny.contains(n));
                    if let FromClient::Answer { reply, .. } = out {
                        let r: Value = serde_json::from_slice(&reply).expect("reply");
                        prop_assert_eq!(&r["id"], &json!(n));
                    }
                }
            }

            #[test]
            fn framing_splits_into_whole_lines_and_a_rest(buf in prop::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..200)) {
                let (lines, rest) = split_lines(&buf);
                let mut joined = Vec::new();
                for l in &lines {
                    prop_assert!(!l.contains(&b'\n'));
                    joined.extend_from_slice(l);
                    joined.push(b'\n');
                }
                prop_assert!(!rest.contains(&b'\n'));
                joined.extend_from_slice(rest);
                prop_assert_eq!(joined, buf);
            }
        }
    }
}

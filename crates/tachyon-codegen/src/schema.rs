//! Reading the schema directory: shared definitions, one schema per message, and
//! the command descriptions of the protocol's markdown docs.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::json::Json;

/// Everything the generator reads.
#[derive(Debug)]
pub struct Schemas {
    /// `definitions/<stem>.json`, by stem (`userId`, `lobbyDetails`, ...).
    pub definitions: BTreeMap<String, Json>,
    /// One entry per message, sorted by service, command, kind.
    pub messages: Vec<MessageSchema>,
    /// Command descriptions from `specs/tachyon/schema/<service>.md`, by
    /// `service/command`.
    pub descriptions: BTreeMap<String, String>,
}

/// The schema of one message.
#[derive(Debug)]
pub struct MessageSchema {
    /// `lobby`
    pub service: String,
    /// `create`
    pub command: String,
    /// `request`, `response` or `event`
    pub kind: String,
    /// The whole schema file.
    pub schema: Json,
}

impl MessageSchema {
    /// `lobby/create`
    pub fn id(&self) -> String {
        format!("{}/{}", self.service, self.command)
    }
}

/// Reads `<shared>/tachyon/schema` and `<shared>/specs/tachyon/schema`.
pub fn load(shared: &Path) -> Result<Schemas, String> {
    let root = shared.join("tachyon/schema");
    let mut definitions = BTreeMap::new();
    for (name, path) in sorted_entries(&root.join("definitions"))? {
        if let Some(stem) = name.strip_suffix(".json") {
            definitions.insert(stem.to_owned(), read_json(&path)?);
        }
    }
    let mut messages = Vec::new();
    for (service, service_path) in sorted_entries(&root)? {
        if service == "definitions" || !service_path.is_dir() {
            continue;
        }
        for (command, command_path) in sorted_entries(&service_path)? {
            for (file, path) in sorted_entries(&command_path)? {
                let Some(kind) = file.strip_suffix(".json") else {
                    continue;
                };
                messages.push(MessageSchema {
                    service: service.clone(),
                    command: command.clone(),
                    kind: kind.to_owned(),
                    schema: read_json(&path)?,
                });
            }
        }
    }
    let mut descriptions = BTreeMap::new();
    let docs = shared.join("specs/tachyon/schema");
    for message in &messages {
        let key = message.id();
        if descriptions.contains_key(&key) {
            continue;
        }
        let md = docs.join(format!("{}.md", message.service));
        if let Ok(text) = fs::read_to_string(&md) {
            if let Some(description) = command_description(&text, &message.command) {
                descriptions.insert(key, description);
            }
        }
    }
    Ok(Schemas {
        definitions,
        messages,
        descriptions,
    })
}

fn sorted_entries(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        entries.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    entries.sort();
    Ok(entries)
}

fn read_json(path: &Path) -> Result<Json, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The paragraph under `## <Command>` in a service's markdown, up to the
/// "- Endpoint Type" list, with markdown links reduced to their text.
fn command_description(markdown: &str, command: &str) -> Option<String> {
    let mut lines = markdown.lines();
    lines.find(|line| {
        line.strip_prefix("## ")
            .is_some_and(|title| title.trim().eq_ignore_ascii_case(command))
    })?;
    let mut paragraph = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.starts_with("- Endpoint Type") || line.starts_with('#') {
            break;
        }
        paragraph.push(line);
    }
    let text = paragraph.join("\n").trim().to_owned();
    (!text.is_empty()).then(|| strip_links(&text))
}

/// `[lobby/join](#join)` becomes `` `lobby/join` ``: the anchors point into the
/// markdown, not into the Rust docs.
fn strip_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find("](") else {
            break;
        };
        let Some(end) = after[close + 2..].find(')') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push('`');
        out.push_str(&after[..close]);
        out.push('`');
        rest = &after[close + 2 + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_stop_at_the_endpoint_list_and_lose_their_links() {
        let md = "# Lobby\n\n## Join\n\nJoin a lobby, see [lobby/leave](#leave).\nSecond line.\n\n- Endpoint Type: **Request**\n\n## Leave\n";
        assert_eq!(
            command_description(md, "join").as_deref(),
            Some("Join a lobby, see `lobby/leave`.\nSecond line.")
        );
        assert_eq!(command_description(md, "kick"), None);
    }
}

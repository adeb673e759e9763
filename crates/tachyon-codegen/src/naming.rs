//! Turning schema names into Rust names.

/// The words of a camelCase, snake_case or kebab-case name.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `addPlayer` -> `AddPlayer`, `engine_message` -> `EngineMessage`.
pub fn pascal(name: &str) -> String {
    words(name)
        .iter()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `engineVersion` -> `engine_version`, with `r#` for keywords.
pub fn snake(name: &str) -> String {
    let snake = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if is_keyword(&snake) {
        format!("r#{snake}")
    } else {
        snake
    }
}

/// What serde's `rename_all = "camelCase"` makes of a snake_case field name.
pub fn serde_camel(snake: &str) -> String {
    let snake = snake.strip_prefix("r#").unwrap_or(snake);
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `ALL_CAPS` for constants.
pub fn screaming(name: &str) -> String {
    snake(name).trim_start_matches("r#").to_ascii_uppercase()
}

/// `players` -> `players`'s item: `player`; `lobbies` -> `lobby`.
pub fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = name.strip_suffix("sses") {
        format!("{stem}ss")
    } else if name.ends_with('s') && !name.ends_with("ss") && !name.ends_with("us") {
        name[..name.len() - 1].to_owned()
    } else {
        name.to_owned()
    }
}

/// `mapName` -> `Map name`: the doc of a field the schema does not describe.
pub fn humanize(name: &str) -> String {
    let words = words(name);
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let all_caps = word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase());
        if i == 0 {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        } else if all_caps {
            out.push_str(word);
        } else {
            out.push_str(&word.to_ascii_lowercase());
        }
    }
    out
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "as" | "break"
            | "const"
            | "continue"
            | "crate"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "gen"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(pascal("addPlayer"), "AddPlayer");
        assert_eq!(pascal("engine_message"), "EngineMessage");
        assert_eq!(pascal("coLeader"), "CoLeader");
        assert_eq!(snake("luamsgRegexp"), "luamsg_regexp");
        assert_eq!(snake("toUserId"), "to_user_id");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(serde_camel("to_user_id"), "toUserId");
        assert_eq!(serde_camel("r#type"), "type");
        assert_eq!(screaming("engineVersion"), "ENGINE_VERSION");
        assert_eq!(singular("lobbies"), "lobby");
        assert_eq!(singular("bosses"), "boss");
        assert_eq!(singular("players"), "player");
        assert_eq!(singular("status"), "status");
        assert_eq!(humanize("mapName"), "Map name");
    }
}

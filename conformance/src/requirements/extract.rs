//! Spec markdown → normative sentences (the catalogue's raw material).
//!
//! The spec writes one sentence per line in most places but wraps some paragraphs, and puts a
//! few requirements in tables (the Linux mount options). So the text is cut into blocks
//! (paragraphs, list items, table rows; code fences skipped), each block is split into
//! sentences, and every sentence holding an upper-case RFC 2119 keyword becomes a requirement
//! of the nearest heading's section.

use super::{CatalogueFile, Keyword, Requirement};

/// A heading: its title and the anchor a link can use.
#[derive(Debug, Clone)]
struct Section {
    title: String,
    anchor: String,
}

/// Extracts the requirements of one spec file (`file` is its name, e.g. `config.md`).
pub fn extract(file: &str, markdown: &str) -> CatalogueFile {
    let stem = file.trim_end_matches(".md");
    let mut out = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    let mut section = Section {
        title: stem.to_string(),
        anchor: String::new(),
    };
    for block in blocks(markdown) {
        match block {
            Block::Heading(s) => section = s,
            Block::Text { text, table } => {
                let block_platform = platform_of(&text, None);
                let sentences = if table {
                    vec![text.clone()]
                } else {
                    split_sentences(&text)
                };
                for sentence in sentences {
                    let Some(keyword) = keyword_of(&sentence, table) else {
                        continue;
                    };
                    let text = normalize(&sentence);
                    let base = format!(
                        "{stem}/{}/{}",
                        section_slug(stem, &section.anchor),
                        short_hash(&text)
                    );
                    // The same sentence twice in one section (e.g. hook `timeout`): number it.
                    let n = seen.entry(base.clone()).or_insert(0);
                    *n += 1;
                    let id = if *n == 1 { base } else { format!("{base}-{n}") };
                    out.push(Requirement {
                        id,
                        file: file.to_string(),
                        section: section.title.clone(),
                        anchor: section.anchor.clone(),
                        keyword,
                        platform: platform_of(&text, Some(&block_platform)),
                        summary: summarize(&section.title, &text, table),
                        edited: false,
                        text,
                    });
                }
            }
        }
    }
    CatalogueFile {
        source: file.to_string(),
        requirements: out,
    }
}

#[derive(Debug)]
enum Block {
    Heading(Section),
    Text { text: String, table: bool },
}

fn is_list_marker(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("* ")
        || t.starts_with("- ")
        || t.split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_fence = false;
    let flush = |current: &mut String, out: &mut Vec<Block>| {
        if !current.trim().is_empty() {
            out.push(Block::Text {
                text: std::mem::take(current),
                table: false,
            });
        }
        current.clear();
    };
    for line in markdown.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            flush(&mut current, &mut out);
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if t.starts_with('#') {
            flush(&mut current, &mut out);
            out.push(Block::Heading(heading(t)));
        } else if t.is_empty() || t.starts_with('[') && t.contains("]:") {
            flush(&mut current, &mut out);
        } else if t.starts_with('|') || t.contains(" | ") && t.contains('`') && !is_list_marker(t) {
            flush(&mut current, &mut out);
            if !t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                out.push(Block::Text {
                    text: t.to_string(),
                    table: true,
                });
            }
        } else {
            if is_list_marker(line) {
                flush(&mut current, &mut out);
            }
            current.push(' ');
            current.push_str(t);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn heading(line: &str) -> Section {
    let text = line.trim_start_matches('#').trim();
    if let Some(start) = text.find("<a name=\"") {
        let rest = &text[start + 9..];
        let anchor = rest.split('"').next().unwrap_or_default().to_string();
        let title = rest
            .split_once('>')
            .map(|(_, t)| t.trim())
            .unwrap_or_default()
            .to_string();
        Section { title, anchor }
    } else {
        Section {
            title: text.to_string(),
            anchor: github_slug(text),
        }
    }
}

/// GitHub's heading anchor: lower case, spaces to dashes, punctuation dropped.
fn github_slug(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// `configLinuxNamespaces` in `config-linux` → `namespaces`; `configPOSIXMounts` in `config`
/// → `posix-mounts`; a slug anchor is kept as it is.
fn section_slug(stem: &str, anchor: &str) -> String {
    if anchor.is_empty() {
        return "top".into();
    }
    let prefix: String = stem
        .split('-')
        .enumerate()
        .map(|(i, w)| {
            if i == 0 {
                w.to_string()
            } else {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect();
    let rest = anchor
        .strip_prefix(&prefix)
        .filter(|r| r.starts_with(|c: char| c.is_uppercase()))
        .unwrap_or(anchor);
    kebab(rest)
}

fn kebab(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev_lower || (chars[i - 1].is_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Splits a block into sentences at `. `, `! `, `? ` not after a common abbreviation.
fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0i32;
    for i in 0..chars.len() {
        match chars[i] {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '.' | '!' | '?' if depth <= 0 => {
                let next_space = chars.get(i + 1).is_some_and(|c| c.is_whitespace());
                let next_word = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                let starts_sentence = next_word
                    .is_some_and(|c| c.is_uppercase() || matches!(c, '`' | '*' | '[' | '_' | '<'));
                let word: String = chars[start..i]
                    .iter()
                    .rev()
                    .take_while(|c| !c.is_whitespace())
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let abbreviation = matches!(
                    word.to_lowercase().trim_start_matches('('),
                    "e.g" | "i.e" | "etc" | "vs" | "cf"
                );
                if next_space && starts_sentence && !abbreviation {
                    out.push(chars[start..=i].iter().collect::<String>());
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    let tail: String = chars[start..].iter().collect();
    if !tail.trim().is_empty() {
        out.push(tail);
    }
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// The sentence's keyword: the first MUST/SHOULD-family word; `REQUIRED` only when none. In a
/// table row a cell holding just the keyword (the mount options' "Requirement" column) wins.
fn keyword_of(sentence: &str, table: bool) -> Option<Keyword> {
    if table {
        for cell in sentence.split('|').map(str::trim) {
            match cell {
                "MUST" => return Some(Keyword::Must),
                "SHOULD" => return Some(Keyword::Should),
                "MAY" => return None,
                _ => {}
            }
        }
    }
    let words: Vec<&str> = sentence
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let mut required = false;
    for (i, w) in words.iter().enumerate() {
        let next_not = words.get(i + 1) == Some(&"NOT");
        match *w {
            "MUST" if next_not => return Some(Keyword::MustNot),
            "MUST" | "SHALL" => return Some(Keyword::Must),
            "SHOULD" if next_not => return Some(Keyword::ShouldNot),
            "SHOULD" => return Some(Keyword::Should),
            "NOT" if words.get(i + 1) == Some(&"RECOMMENDED") => {
                return Some(Keyword::NotRecommended)
            }
            "RECOMMENDED" if i == 0 || words[i - 1] != "NOT" => return Some(Keyword::Recommended),
            "REQUIRED" => required = true,
            _ => {}
        }
    }
    required.then_some(Keyword::Required)
}

/// Which platform a sentence is about: a sentence or list item naming another platform is not
/// Linux's business.
fn platform_of(text: &str, block: Option<&str>) -> String {
    let lead = text.trim_start_matches(['*', '-', ' ']);
    for (marker, platform) in [
        ("Windows", "windows"),
        ("Hyper-V", "windows"),
        ("Solaris", "solaris"),
        ("z/OS", "zos"),
        ("FreeBSD", "freebsd"),
        ("For all other platforms", "other"),
    ] {
        if lead.starts_with(&format!("{marker}:"))
            || lead.starts_with(&format!("On {marker}"))
            || lead.starts_with(marker)
            || (block.is_some() && text.contains(&format!("On {marker}")))
            || (block.is_some() && text.contains(&format!("{marker}:")))
        {
            return platform.to_string();
        }
    }
    // Markers that name another platform anywhere in the sentence.
    for (marker, platform) in [
        ("Hyper-V", "windows"),
        ("OPTIONAL on Windows", "windows"),
        ("platform of this spec is `windows`", "windows"),
    ] {
        if block.is_some() && text.contains(marker) {
            return platform.to_string();
        }
    }
    match block {
        Some(b) if b != "linux" => b.to_string(),
        _ => "linux".to_string(),
    }
}

/// Markdown stripped (links to their text, emphasis, anchors), whitespace collapsed.
pub fn normalize(sentence: &str) -> String {
    let mut s = String::new();
    let chars: Vec<char> = sentence.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' {
            // drop inline html such as <a name="x" />
            if let Some(end) = chars[i..].iter().position(|&c| c == '>') {
                let tag: String = chars[i..i + end + 1].iter().collect();
                if tag.starts_with("<a ") || tag.starts_with("</a") {
                    i += end + 1;
                    continue;
                }
            }
        }
        if c == ']' {
            // `[text](url)` or `[text][ref]`: drop the target
            if let Some(&open) = chars.get(i + 1) {
                let close = match open {
                    '(' => Some(')'),
                    '[' => Some(']'),
                    _ => None,
                };
                if let Some(close) = close {
                    if let Some(end) = chars[i + 2..].iter().position(|&c| c == close) {
                        i += end + 3;
                        continue;
                    }
                }
            }
            i += 1;
            continue;
        }
        if c == '[' && chars.get(i + 1) == Some(&'^') {
            // a footnote reference such as [^1]: dropped
            if let Some(end) = chars[i..].iter().position(|&c| c == ']') {
                i += end + 1;
                continue;
            }
        }
        if c == '[' {
            i += 1;
            continue;
        }
        if c == '*' {
            i += 1;
            continue;
        }
        s.push(c);
        i += 1;
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// FNV-1a over the normalized text, six hex digits: short, stable, and collisions within one
/// section are vanishingly unlikely (a collision would show up as a `-2` suffix).
fn short_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{:06x}", h & 0xff_ffff)
}

/// A mechanical one-line summary: section, then the sentence (table rows as `cell: cell`),
/// cut at 140 characters on a word boundary.
fn summarize(section: &str, text: &str, table: bool) -> String {
    let body = if table {
        let cells: Vec<&str> = text
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        match cells.as_slice() {
            // The mount options table: option | level | description.
            [opt, level @ ("MUST" | "SHOULD"), rest @ ..] => {
                let note = rest.join(" ");
                let note = note.trim();
                format!(
                    "runtimes {level} implement the option {opt}{}",
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({note})")
                    }
                )
            }
            _ => cells.join(" — "),
        }
    } else {
        text.trim_start_matches(['*', '-', ' ']).to_string()
    };
    let line = format!("{section}: {body}");
    if line.chars().count() <= 140 {
        return line;
    }
    let mut cut: String = line.chars().take(139).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# <a name="runtimeAndLifecycle" />Runtime and Lifecycle

### <a name="runtimeStart" />Start
`start <container-id>`

This operation MUST [generate an error](#errors) if it is not provided the container ID.
Attempting to `start` a container that is not [`created`](#state) MUST have no effect on the container and MUST [generate an error](#errors).
Something wrapped over
two lines SHOULD NOT break, e.g. this. And a second sentence MUST count.

```json
{"MUST": "not in code"}
```

## Valid values

* **`cwd`** (string, REQUIRED) is the working directory.
* Windows: This value MUST be an absolute path.
  One mount destination MUST NOT be nested within another mount.

 Option name      | Requirement | Description
------------------|-------------|------------
 `async`          | MUST        | [^1]
 `mand`           | MAY         | [^1]
 `rro`            | SHOULD      | Recursive `ro` [^3]
"#;

    #[test]
    fn extracts_sentences_levels_sections_and_platforms() {
        let file = extract("runtime.md", SAMPLE);
        let got: Vec<(&str, Keyword, &str, &str)> = file
            .requirements
            .iter()
            .map(|r| {
                (
                    r.anchor.as_str(),
                    r.keyword,
                    r.platform.as_str(),
                    r.text.as_str(),
                )
            })
            .collect();
        assert_eq!(got.len(), 9, "{got:#?}");
        assert_eq!(
            got[0],
            (
                "runtimeStart",
                Keyword::Must,
                "linux",
                "This operation MUST generate an error if it is not provided the container ID."
            )
        );
        assert_eq!(
            got[2].3,
            "Something wrapped over two lines SHOULD NOT break, e.g. this."
        );
        assert_eq!(got[2].1, Keyword::ShouldNot);
        assert_eq!(got[3].3, "And a second sentence MUST count.");
        assert_eq!(got[4].0, "valid-values");
        assert_eq!(got[4].1, Keyword::Required);
        assert_eq!(got[5].2, "windows");
        assert_eq!(got[6].2, "windows", "a later sentence of a Windows item");
        assert_eq!(got[6].1, Keyword::MustNot);
        assert_eq!(got[7].1, Keyword::Must);
        assert!(got[7].3.contains("`async`"));
        assert_eq!(got[8].1, Keyword::Should);
    }

    #[test]
    fn ids_are_stable_and_readable() {
        let a = extract("runtime.md", SAMPLE);
        let b = extract("runtime.md", SAMPLE);
        assert_eq!(a.requirements, b.requirements);
        assert!(a.requirements[0].id.starts_with("runtime/start/"));
        assert_eq!(a.requirements[4].id.split('/').nth(1), Some("valid-values"));
    }

    #[test]
    fn section_slugs_drop_the_file_prefix() {
        assert_eq!(
            section_slug("config-linux", "configLinuxNamespaces"),
            "namespaces"
        );
        assert_eq!(section_slug("config", "configPOSIXMounts"), "posix-mounts");
        assert_eq!(section_slug("config-linux", "configLinuxPIDS"), "pids");
        assert_eq!(
            section_slug("runtime-linux", "runtimeLinuxDevSymbolicLinks"),
            "dev-symbolic-links"
        );
        assert_eq!(
            section_slug("config-linux", "containerprocessstate"),
            "containerprocessstate"
        );
    }

    #[test]
    fn normalize_strips_links_and_emphasis() {
        assert_eq!(
            normalize("**`id`** (string, REQUIRED) see [state](#state) and [x][y]  now [^1]"),
            "`id` (string, REQUIRED) see state and x now"
        );
    }
}

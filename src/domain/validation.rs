//! Field-level validation problems, gathered so that one answer lists them all.

use serde::{Deserialize, Serialize};

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `vin` or `birthday.month`.
    pub field: String,
    /// What is wrong, in plain English.
    pub message: String,
}

/// Every problem found in one input; empty means valid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Keeps the parsed value when valid, records the problem under `field` otherwise.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same problems named from an enclosing object: `score` under
    /// `answers` is `answers.score`.
    pub fn within(mut self, prefix: &str) -> Self {
        for e in &mut self.0 {
            e.field = format!("{prefix}.{}", e.field);
        }
        self
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// A control character that has no place in free text: NUL and the other C0
/// and C1 controls and DEL, except tab, line feed and carriage return.
/// (PostgreSQL refuses NUL in text outright; the rest corrupt logs, CSV and
/// calendar files.)
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Refuses control characters; with `single_line`, also tab, CR and LF (a
/// name, a make or a plate is one line, and goes raw into .ics and CSV).
pub fn no_controls(value: &str, single_line: bool) -> Result<(), String> {
    match value
        .chars()
        .find(|c| is_forbidden_control(*c) || (single_line && c.is_control()))
    {
        None => Ok(()),
        Some(c) if !is_forbidden_control(c) => Err(format!(
            "must be a single line (found control character U+{:04X})",
            c as u32
        )),
        Some(c) => Err(format!(
            "must not contain control characters (found U+{:04X})",
            c as u32
        )),
    }
}

/// A trimmed single-line text of 1..=max characters (characters, not bytes:
/// names are Chinese).
pub fn text(value: &str, max: usize) -> Result<String, String> {
    bounded(value, max, true)
}

/// Like [`text`], but line breaks and tabs are allowed (notes, a concern, a reason).
pub fn multiline(value: &str, max: usize) -> Result<String, String> {
    bounded(value, max, false)
}

fn bounded(value: &str, max: usize, single_line: bool) -> Result<String, String> {
    let t = value.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    let n = t.chars().count();
    if n > max {
        return Err(format!("must be at most {max} characters (got {n})"));
    }
    no_controls(t, single_line)?;
    Ok(t.to_string())
}

/// A code such as a dealer code or a menu code: 1..=32 letters, digits, `-`
/// or `_`, stored in upper case.
pub fn code(value: &str) -> Result<String, String> {
    let c = value.trim().to_uppercase();
    let ok = !c.is_empty()
        && c.len() <= 32
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if ok {
        Ok(c)
    } else {
        Err("must be 1 to 32 letters, digits, - or _".into())
    }
}

/// Like [`text`] but empty input means "none".
pub fn optional_text(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(v, max).map(Some),
    }
}

/// Like [`multiline`] but empty input means "none".
pub fn optional_multiline(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => multiline(v, max).map(Some),
    }
}

/// For PATCH bodies: tells "absent" (outer None) from "null" (Some(None)).
/// Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_not_bytes() {
        assert_eq!(text(" 王小明 ", 3).unwrap(), "王小明");
        assert!(text("王小明", 2).unwrap_err().contains("at most 2"));
        assert!(text("  ", 2).is_err());
    }

    #[test]
    fn single_line_text_refuses_line_breaks_and_free_text_refuses_nul() {
        assert!(
            text("Volks\rwagen", 50)
                .unwrap_err()
                .contains("single line")
        );
        assert!(text("a\u{0}b", 50).unwrap_err().contains("U+0000"));
        assert!(multiline("a\u{85}b", 50).unwrap_err().contains("U+0085"));
        assert_eq!(
            multiline("line one\nline two", 50).unwrap(),
            "line one\nline two"
        );
    }

    #[test]
    fn codes_are_upper_case_and_plain() {
        assert_eq!(code(" maint-10k ").unwrap(), "MAINT-10K");
        assert!(code("保养").is_err());
        assert!(code(&"A".repeat(33)).is_err());
    }
}

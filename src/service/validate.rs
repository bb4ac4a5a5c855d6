//! Input checks shared by every mutation: text lengths and characters, numbers, codes.
//!
//! Text is stored verbatim; only what the database cannot hold (NUL) or what would make a
//! record unusable (control characters in names, empty codes) is refused.

use crate::error::{AppError, AppResult};

/// A required single-line text of 1..=`max` characters, trimmed.
pub fn name(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if trimmed.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional multi-line text of at most `max` characters; empty means none.
pub fn text(field: &'static str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    if value.trim().is_empty() {
        return Ok(None);
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must not contain control characters other than line breaks"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// An identifier-like code: 1..=`max` of letters, digits and `_ - . : /`, not starting with
/// punctuation.
pub fn code(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    let valid_char = |c: char| c.is_ascii_alphanumeric() || "_-.:/".contains(c);
    let starts_well = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if value.is_empty() || value.len() > max || !starts_well || !value.chars().all(valid_char) {
        return Err(AppError::invalid(
            field,
            format!(
                "`{field}` must be 1 to {max} letters, digits or `_ - . : /`, starting with a \
                 letter or digit"
            ),
        ));
    }
    Ok(value.to_owned())
}

/// A finite number within `min..=max`.
pub fn number(field: &'static str, value: f64, min: f64, max: f64) -> AppResult<f64> {
    if !value.is_finite() {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be a finite number"),
        ));
    }
    if value < min || value > max {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be between {min} and {max}"),
        ));
    }
    Ok(value)
}

/// An optional finite number within `min..=max`.
pub fn opt_number(
    field: &'static str,
    value: Option<f64>,
    min: f64,
    max: f64,
) -> AppResult<Option<f64>> {
    value.map(|v| number(field, v, min, max)).transpose()
}

/// An integer within `min..=max`.
pub fn int(field: &'static str, value: i64, min: i64, max: i64) -> AppResult<i64> {
    if value < min || value > max {
        return Err(AppError::invalid(
            field,
            format!("`{field}` must be between {min} and {max}"),
        ));
    }
    Ok(value)
}

/// Sensor alarm thresholds, each optional, must be ordered lo_lo ≤ lo ≤ hi ≤ hi_hi.
pub fn thresholds(values: [Option<f64>; 4]) -> AppResult<()> {
    const NAMES: [&str; 4] = ["loLo", "lo", "hi", "hiHi"];
    for (name, value) in NAMES.iter().zip(values) {
        if value.is_some_and(|v| !v.is_finite()) {
            return Err(AppError::bad_input(format!(
                "threshold `{name}` must be a finite number"
            )));
        }
    }
    let set: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    for pair in set.windows(2) {
        let ((i, a), (j, b)) = (pair[0], pair[1]);
        if a > b {
            return Err(AppError::bad_input(format!(
                "thresholds must be ordered loLo ≤ lo ≤ hi ≤ hiHi, but {} ({a}) > {} ({b})",
                NAMES[i], NAMES[j]
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_must_be_ordered() {
        assert!(thresholds([Some(1.0), Some(2.0), Some(3.0), Some(4.0)]).is_ok());
        assert!(thresholds([None, Some(2.0), None, Some(4.0)]).is_ok());
        assert!(thresholds([Some(5.0), None, None, Some(4.0)]).is_err());
        assert!(thresholds([None, Some(f64::NAN), None, None]).is_err());
    }

    #[test]
    fn codes_and_names() {
        assert_eq!(code("code", " CNC-01 ", 32).ok().as_deref(), Some("CNC-01"));
        assert!(code("code", "'; DROP TABLE x;--", 32).is_err());
        assert!(code("code", "", 32).is_err());
        assert_eq!(
            name("name", "Robert'); DROP TABLE equipment;--", 200)
                .ok()
                .as_deref(),
            Some("Robert'); DROP TABLE equipment;--")
        );
        assert!(name("name", "a\u{0}b", 200).is_err());
        assert!(name("name", &"x".repeat(201), 200).is_err());
    }
}

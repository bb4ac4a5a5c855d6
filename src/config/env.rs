//! Where configuration variables come from: the process, or a map in tests.

use std::{collections::HashMap, str::FromStr};

/// A source of configuration variables.
pub trait EnvSource {
    /// The raw value, if set and non-empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// Parsing helpers shared by every source.
pub trait EnvSourceExt: EnvSource {
    /// The parsed value, or `default` when unset; a malformed value is an error naming it.
    fn parse_or<T>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("{name}: cannot parse `{raw}`: {e}")),
        }
    }
}

impl<S: EnvSource + ?Sized> EnvSourceExt for S {}

/// A boolean setting that also reads `on/off`, `yes/no` and `1/0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub bool);

impl FromStr for Flag {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Ok(Self(true)),
            "false" | "off" | "no" | "0" => Ok(Self(false)),
            _ => Err("expected true/false, on/off, yes/no or 1/0".to_owned()),
        }
    }
}

/// The process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// A fixed map of variables.
#[derive(Default)]
pub struct MapEnv(pub HashMap<String, String>);

impl MapEnv {
    /// The variables of `pairs`.
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
}

impl EnvSource for MapEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned().filter(|v| !v.is_empty())
    }
}

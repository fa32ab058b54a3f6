//! The console's two languages. French is the default; English is chosen with `?lang=en` (kept
//! in a cookie for the next pages), else by a cookie set earlier, else by `Accept-Language`.
//! Pages write their text as `lang.t("…", "…")`, French first, so both stay side by side.

use axum::http::{HeaderMap, header};

/// The cookie remembering a language picked with `?lang=`.
pub const LANG_COOKIE: &str = "mp_console_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The `lang` attribute and `?lang=` value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch in the header.
    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    /// This language's name, written in itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
        }
    }

    pub fn t(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// The language of a request: `?lang=` first, then the cookie, then the first language of
    /// `Accept-Language` that the console speaks, then French.
    pub fn of_request(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(lang_in_query) {
            return lang;
        }
        if let Some(lang) = super::auth::cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v))
        {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .filter_map(|tag| tag.split(';').next())
                    .find_map(|tag| Lang::parse(tag.trim().split('-').next().unwrap_or("")))
            })
            .unwrap_or_default()
    }

    /// A whole number of FCFA as people of this language write it: `25 000 FCFA` (narrow
    /// no-break spaces) or `25,000 FCFA`.
    pub fn fcfa(self, amount: impl Into<i128>) -> String {
        let amount: i128 = amount.into();
        let digits = amount.unsigned_abs().to_string();
        let separator = match self {
            Lang::Fr => '\u{202f}',
            Lang::En => ',',
        };
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(separator);
            }
            grouped.push(digit);
        }
        let sign = if amount < 0 { "\u{2212}" } else { "" };
        format!("{sign}{grouped}\u{a0}FCFA")
    }
}

/// `lang` in a query string, if it names a language of the console.
pub fn lang_in_query(query: &str) -> Option<Lang> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "lang")
        .and_then(|(_, value)| Lang::parse(&value))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::Lang;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_query_wins_over_the_cookie_which_wins_over_accept_language() {
        let both = headers(&[
            (header::COOKIE, "mp_console_lang=en"),
            (header::ACCEPT_LANGUAGE, "fr-CI,fr;q=0.9"),
        ]);
        assert_eq!(Lang::of_request(Some("lang=fr"), &both), Lang::Fr);
        assert_eq!(Lang::of_request(None, &both), Lang::En);
        let browser = headers(&[(header::ACCEPT_LANGUAGE, "de-DE, en-GB;q=0.8, fr;q=0.5")]);
        assert_eq!(Lang::of_request(Some("lang=xx"), &browser), Lang::En);
        assert_eq!(Lang::of_request(None, &HeaderMap::new()), Lang::Fr);
    }

    #[test]
    fn amounts_are_grouped_by_thousands_in_each_language() {
        assert_eq!(
            Lang::Fr.fcfa(1_234_567),
            "1\u{202f}234\u{202f}567\u{a0}FCFA"
        );
        assert_eq!(Lang::En.fcfa(-25_000), "\u{2212}25,000\u{a0}FCFA");
        assert_eq!(Lang::En.fcfa(100), "100\u{a0}FCFA");
        assert_eq!(Lang::Fr.fcfa(0), "0\u{a0}FCFA");
    }
}

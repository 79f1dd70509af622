//! Key templates: `invoices/{yyyy}/{mm}/{invoice_id}.pdf`.
//!
//! Built-in placeholders are `{yyyy}`, `{mm}`, `{dd}`, `{hh}`, `{date}` (YYYY-MM-DD),
//! `{timestamp}` (UTC `YYYYMMDDTHHMMSSZ`), `{uuid}`, `{filename}` and `{ext}`; any other
//! `{name}` comes from `vars`. An unknown placeholder or an unclosed brace is `invalid_input`.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::error::{Error, Result};

/// What a template can draw on besides `vars`.
#[derive(Debug, Clone)]
pub struct TemplateContext<'a> {
    pub now: OffsetDateTime,
    /// The source file or document name, for `{filename}` and `{ext}`.
    pub file_name: Option<&'a str>,
    pub vars: &'a BTreeMap<String, String>,
}

pub fn render(template: &str, ctx: &TemplateContext<'_>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        if rest.as_bytes()[open] == b'}' {
            return Err(Error::invalid_input(format!("key: unmatched '}}' in template {template:?}")));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| Error::invalid_input(format!("key: unclosed '{{' in template {template:?}")))?;
        let name = &after[..close];
        out.push_str(&value_of(name, ctx, template)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn value_of(name: &str, ctx: &TemplateContext<'_>, template: &str) -> Result<String> {
    let now = ctx.now;
    let file_name = || {
        ctx.file_name.ok_or_else(|| {
            Error::invalid_input(format!("key: {{{name}}} needs a source file or document name ({template:?})"))
        })
    };
    Ok(match name {
        "yyyy" => format!("{:04}", now.year()),
        "mm" => format!("{:02}", u8::from(now.month())),
        "dd" => format!("{:02}", now.day()),
        "hh" => format!("{:02}", now.hour()),
        "date" => format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day()),
        "timestamp" => crate::encode::compact_timestamp(now),
        "uuid" => uuid::Uuid::new_v4().to_string(),
        "filename" => file_name()?.to_owned(),
        "ext" => {
            let name = file_name()?;
            name.rsplit_once('.').map(|(_, ext)| ext.to_owned()).unwrap_or_default()
        }
        other => match ctx.vars.get(other) {
            Some(value) => value.clone(),
            None => {
                return Err(Error::invalid_input(format!(
                    "key: unknown placeholder {{{other}}} in template {template:?} (built-ins: yyyy, mm, dd, hh, date, timestamp, uuid, filename, ext; others come from vars)"
                )))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn ctx(vars: &BTreeMap<String, String>) -> TemplateContext<'_> {
        TemplateContext { now: datetime!(2026-03-04 05:06:07 UTC), file_name: Some("report.final.pdf"), vars }
    }

    #[test]
    fn renders_builtins_and_vars() {
        let vars = BTreeMap::from([("invoice_id".to_owned(), "INV-7".to_owned())]);
        let key = render("invoices/{yyyy}/{mm}/{dd}/{hh}/{invoice_id}.pdf", &ctx(&vars)).unwrap();
        assert_eq!(key, "invoices/2026/03/04/05/INV-7.pdf");
        assert_eq!(render("{date}_{timestamp}", &ctx(&vars)).unwrap(), "2026-03-04_20260304T050607Z");
        assert_eq!(render("in/{filename}", &ctx(&vars)).unwrap(), "in/report.final.pdf");
        assert_eq!(render("x.{ext}", &ctx(&vars)).unwrap(), "x.pdf");
        assert_eq!(render("{uuid}", &ctx(&vars)).unwrap().len(), 36);
        assert_eq!(render("plain/key +=:()&$@,;?#%", &ctx(&vars)).unwrap(), "plain/key +=:()&$@,;?#%");
    }

    #[test]
    fn refuses_unknown_and_broken_placeholders() {
        let vars = BTreeMap::new();
        for bad in ["{nope}", "a/{yyyy", "a}b", "{}"] {
            let err = render(bad, &ctx(&vars)).unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::InvalidInput, "{bad}");
        }
    }
}

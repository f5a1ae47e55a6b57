//! Scalar functions rule and view SQL can call beyond DataFusion's own, and the functions the
//! sandbox removes.
//!
//! DESIGN.md keeps Rust for what SQL does badly: name normalisation (`norm_name`) and text
//! formatting of reasons (`format`). The sandbox also removes every function whose result depends
//! on when or how often it is called (`now`, `random`, `uuid`, ...): a run must be a pure function
//! of its inputs, the rule pack and `--as-of`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

/// Functions removed from the sandbox because their result is not a function of the data.
pub const NONDETERMINISTIC: &[&str] = &["now", "current_date", "current_time", "random", "uuid"];

/// The functions paxrisk adds.
pub fn all() -> Vec<ScalarUDF> {
    vec![ScalarUDF::from(NormName::new()), ScalarUDF::from(Format::new())]
}

/// `norm_name(text)`: upper case, accents folded to ASCII (`Ø` → `O`, `ß` → `SS`), and every
/// character that is not a letter removed, so `O'Brien-Smith` and `OBRIENSMITH` compare equal.
/// NULL stays NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NormName {
    signature: Signature,
}

impl NormName {
    fn new() -> Self {
        NormName { signature: Signature::uniform(1, vec![DataType::Utf8], Volatility::Immutable) }
    }
}

/// The normalised form of one name.
pub fn norm_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_norm_name(s, &mut out);
    out
}

/// Appends the normalised form of `s` to `out`.
///
/// A name of ASCII text (nearly all of them) is done byte by byte: its letters upper-cased, the
/// rest dropped, which is what [`push_folded`] gives for ASCII. Every name went through the
/// Unicode path, a character and its upper case at a time, which `perf` put at 1.3% of the views'
/// samples at a million PNRs (docs/performance.md, change 93).
fn push_norm_name(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().filter(u8::is_ascii_alphabetic).map(|b| char::from(b.to_ascii_uppercase())));
    } else {
        push_folded(s, out);
    }
}

/// [`push_norm_name`] for any text: each character upper-cased, accents folded, non-letters dropped.
fn push_folded(s: &str, out: &mut String) {
    for c in s.chars() {
        for u in c.to_uppercase() {
            match fold(u) {
                Some(f) => out.push_str(f),
                None if u.is_alphabetic() => out.push(u),
                None => {}
            }
        }
    }
}

fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'A'..='Z' => return None,
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "A",
        'Æ' => "AE",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'Ď' | 'Đ' | 'Ð' => "D",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'Ĥ' | 'Ħ' => "H",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'Ĵ' => "J",
        'Ķ' => "K",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'Œ' => "OE",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ß' | 'ẞ' => "SS",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'Þ' => "TH",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'Ŵ' => "W",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    })
}

impl ScalarUDFImpl for NormName {
    fn name(&self) -> &str {
        "norm_name"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let input = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let input = input.as_string::<i32>();
        let mut b = StringBuilder::with_capacity(input.len(), input.len() * 8);
        // One buffer for every value, instead of a `String` allocated per name.
        let mut name = String::new();
        for v in input.iter() {
            match v {
                Some(v) => {
                    name.clear();
                    push_norm_name(v, &mut name);
                    b.append_value(&name);
                }
                None => b.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish()) as ArrayRef))
    }
}

/// `format(template, value, ...)`: each `%s` in the template is replaced by the next value as
/// text, `%%` by `%`. Fractional numbers are shown with at most two decimals (`11.73`, `12`),
/// NULL as an empty string, lists as `[A, B]`. For reason texts.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Format {
    signature: Signature,
}

impl Format {
    fn new() -> Self {
        Format { signature: Signature::new(TypeSignature::VariadicAny, Volatility::Immutable) }
    }
}

/// One value of `array` as reason text.
fn value_text(array: &dyn Array, formatter: &ArrayFormatter, row: usize) -> String {
    if array.is_null(row) {
        return String::new();
    }
    match array.data_type() {
        DataType::Float64 | DataType::Float32 => {
            let v = arrow::compute::cast(&array.slice(row, 1), &DataType::Float64)
                .ok()
                .map(|a| a.as_primitive::<arrow::datatypes::Float64Type>().value(0));
            match v {
                Some(v) if v.is_finite() => {
                    let s = format!("{v:.2}");
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                }
                _ => formatter.value(row).to_string(),
            }
        }
        _ => formatter.value(row).to_string(),
    }
}

/// Renders `template` with `values` (already formatted).
pub fn render(template: &str, values: &[String]) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut next = values.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => match next.next() {
                Some(v) => out.push_str(v),
                None => return Err(format!("format: the template has more %s than the {} values given", values.len())),
            },
            Some('%') => out.push('%'),
            other => {
                return Err(format!(
                    "format: unsupported placeholder %{} (use %s for a value, %% for a percent sign)",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    if next.next().is_some() {
        return Err(format!("format: {} values given but the template has fewer %s", values.len()));
    }
    Ok(out)
}

impl ScalarUDFImpl for Format {
    fn name(&self) -> &str {
        "format"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() {
            return exec_err!("format needs a template, e.g. format('%s h before departure', hours)");
        }
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some((template, values)) = arrays.split_first() else {
            return exec_err!("format needs a template");
        };
        let template = arrow::compute::cast(template, &DataType::Utf8)?;
        let template = template.as_string::<i32>();
        let options = FormatOptions::default().with_null("");
        let formatters = values
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut b = StringBuilder::with_capacity(args.number_rows, args.number_rows * 32);
        let mut texts = Vec::with_capacity(values.len());
        for row in 0..args.number_rows {
            if template.is_null(row) {
                b.append_null();
                continue;
            }
            texts.clear();
            texts.extend(values.iter().zip(&formatters).map(|(a, f)| value_text(a.as_ref(), f, row)));
            match render(template.value(row), &texts) {
                Ok(s) => b.append_value(s),
                Err(e) => return exec_err!("{e}"),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_to_plain_letters() {
        assert_eq!(norm_name("O'Brien-Smith"), "OBRIENSMITH");
        assert_eq!(norm_name("Müller"), "MULLER");
        assert_eq!(norm_name("Øster Straße"), "OSTERSTRASSE");
        assert_eq!(norm_name("van der  Berg"), "VANDERBERG");
        assert_eq!(norm_name(""), "");
    }

    #[test]
    fn ascii_names_normalise_as_the_unicode_path_does() {
        let folded = |s: &str| {
            let mut out = String::new();
            push_folded(s, &mut out);
            out
        };
        // Every ASCII character alone, then all of them together and in reverse.
        let all: String = (0u8..=127).map(char::from).collect();
        let reversed: String = all.chars().rev().collect();
        let mut texts: Vec<String> = (0u8..=127).map(|b| char::from(b).to_string()).collect();
        texts.extend([all, reversed, "O'Brien-Smith".into(), " van der  Berg ".into(), "d'Artagnan 3rd".into()]);
        for t in &texts {
            assert!(t.is_ascii());
            assert_eq!(norm_name(t), folded(t), "{t:?}");
        }
        // Text beyond ASCII keeps the Unicode path, and appending keeps what the buffer held.
        let mut out = String::from("X");
        push_norm_name("Çelik-Ørsted ß", &mut out);
        assert_eq!(out, "XCELIKORSTEDSS");
    }

    #[test]
    fn format_renders_placeholders_and_refuses_mismatches() {
        assert_eq!(render("%s h, %s%%", &["12".into(), "5".into()]).unwrap(), "12 h, 5%");
        assert!(render("%s and %s", &["1".into()]).unwrap_err().contains("more %s"));
        assert!(render("%s", &["1".into(), "2".into()]).unwrap_err().contains("fewer %s"));
        assert!(render("%d", &["1".into()]).unwrap_err().contains("unsupported placeholder %d"));
    }
}

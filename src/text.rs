//! Text for error messages, written as `format!` would write it, without the parts of `core`'s
//! formatting that add kilobytes to every app's wasm.
//!
//! * [`display`]: `format!("{x}")` for an `f64`. `core`'s float formatting (Grisu and Dragon4
//!   with their tables) costs about 8 kB of gzip, for one message:
//!   [`BackoffError::BadFactor`](crate::BackoffError::BadFactor), which shows a refused factor.
//!   In the browser the digits come from JavaScript instead, laid out as Rust lays them out.
//! * [`quoted`]: `format!("{s:?}")` for a `str`, whose `Debug` impl also brings string slicing's
//!   panic path.

/// `format!("{s:?}")` for a `str`: one implementation, in the protocol crate, which quotes
/// received text in its own errors too.
pub(crate) use crate::protocol::quoted;

/// The text of `x` exactly as `format!("{x}")` writes it.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn display(x: f64) -> String {
    format!("{x}")
}

/// The text of `x` exactly as `format!("{x}")` writes it.
///
/// Rust writes the shortest digits that read back as `x`, the nearest to `x` among them (a tie
/// goes away from zero). `toPrecision(k)` gives the nearest `k` digits (a tie also goes away
/// from zero), so the first `k` whose digits read back as `x` gives Rust's digits. (JavaScript's
/// own `String(x)` breaks ties to even instead, and differs in the last digit for some inputs.)
#[cfg(target_arch = "wasm32")]
pub(crate) fn display(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let number = js_sys::Number::from(x);
    let mut text = String::new();
    for k in 1..=17 {
        text = number.to_precision(k).map(String::from).unwrap_or_default();
        if js_sys::parse_float(&text) == x {
            break;
        }
    }
    layout(&text)
}

/// Lays out the output of JavaScript's `toPrecision` (`"-1.25e+21"`, `"0.00012"`, `"120"`) as
/// Rust's `Display` does: no exponent, no trailing zeros after the point, no point for integers.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn layout(js: &str) -> String {
    let (sign, js) = match js.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", js),
    };
    let (mantissa, exponent) = match js.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (js, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let significant = all.trim_start_matches('0');
    // The value is 0.<digits> × 10^point.
    let point = int.len() as i32 + exponent - (all.len() - significant.len()) as i32;
    let digits = significant.trim_end_matches('0');
    if digits.is_empty() {
        return format!("{sign}0");
    }
    if point <= 0 {
        return format!(
            "{sign}0.{}{digits}",
            "0".repeat(point.unsigned_abs() as usize)
        );
    }
    let point = point as usize;
    match (digits.get(..point), digits.get(point..)) {
        (Some(int), Some(frac)) if !frac.is_empty() => format!("{sign}{int}.{frac}"),
        _ => format!(
            "{sign}{digits}{}",
            "0".repeat(point.saturating_sub(digits.len()))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{layout, quoted};

    #[test]
    fn quotes_as_debug_does() {
        // Every code point, alone and among others (checked once for all 1.1 M: here a stride).
        for cp in (0..=0x10FFFFu32).step_by(7).chain(0..0x3000) {
            if let Some(c) = char::from_u32(cp) {
                for s in [format!("{c}"), format!("a{c}b"), format!("{c}{c}'\"")] {
                    assert_eq!(quoted(&s), format!("{s:?}"), "U+{cp:04X}");
                }
            }
        }
    }

    /// What JavaScript's `x.toPrecision(k)` writes, for `k` = the number of Rust's shortest
    /// digits of `x` (finite, non-zero), built from Rust's own `{:e}` output.
    fn to_precision(x: f64) -> String {
        let e = format!("{x:e}");
        let (sign, e) = match e.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", e.as_str()),
        };
        let (mantissa, exponent) = e.split_once('e').unwrap();
        let exponent: i32 = exponent.parse().unwrap();
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let p = digits.len() as i32;
        if exponent < -6 || exponent >= p {
            let (a, b) = digits.split_at(1);
            let m = if b.is_empty() {
                a.to_string()
            } else {
                format!("{a}.{b}")
            };
            let c = if exponent < 0 { '-' } else { '+' };
            format!("{sign}{m}e{c}{}", exponent.abs())
        } else if exponent == p - 1 {
            format!("{sign}{digits}")
        } else if exponent >= 0 {
            let (a, b) = digits.split_at(exponent as usize + 1);
            format!("{sign}{a}.{b}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-(exponent + 1)) as usize))
        }
    }

    #[test]
    fn lays_out_javascript_digits_as_rust_does() {
        let mut samples = vec![
            0.5,
            -2.0,
            0.1,
            0.3,
            1e-7,
            1.5e-7,
            1e-6,
            1e21,
            1.25e21,
            -1e300,
            123.456,
            -0.001,
            1000.0,
            120.0,
            9.5,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            -1618162129551699.2,
            0.999_999_999_999_999_9,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let x = match i % 3 {
                0 => f64::from_bits(state),
                1 => (state >> 11) as f64 / (1u64 << 53) as f64,
                _ => (state % 100_000) as f64 / 1_000.0 - 50.0,
            };
            if x.is_finite() && x != 0.0 {
                samples.push(x);
            }
        }
        for x in samples {
            assert_eq!(layout(&to_precision(x)), format!("{x}"), "{x:e}");
        }
        assert_eq!(layout("0"), "0");
        assert_eq!(layout("1.20e+2"), "120");
        assert_eq!(layout("0.500"), "0.5");
    }
}

/// In the browser: the digits come from JavaScript, and must still be Rust's (run by
/// `wasm-pack test … -- --lib`).
#[cfg(all(test, target_arch = "wasm32"))]
mod tests_browser {
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn displays_floats_as_format_does() {
        let mut samples = vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            0.5,
            0.1,
            0.3,
            1e-7,
            1.5e-300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            1e21,
            -1.25e21,
            -1e300,
            // Ties: JavaScript's `String(x)` rounds these to even, Rust away from zero.
            f64::from_bits(14_057_703_485_914_154_317), // -1618162129551699.25
            f64::from_bits(4_829_375_382_016_665_186),  // 752522637857996.25
            f64::from_bits(14_040_628_598_021_673_352), // -115814986487622.125
            0.999_999_999_999_999_9,
            0.123_456_789_012_345_67,
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            samples.push(match i % 3 {
                0 => f64::from_bits(state),
                1 => (state >> 11) as f64 / (1u64 << 53) as f64,
                _ => (state % 10_000_000) as f64 / 4.0 - 1e6,
            });
        }
        for x in samples {
            assert_eq!(super::display(x), format!("{x}"), "{:#x}", x.to_bits());
        }
    }
}

//! Series and slice colours: a colour-blind-safe palette, with fixed colours for the values
//! flow-log users read at a glance (ACCEPT green, REJECT red).

use plotters::style::RGBColor;

/// The default categorical palette.
pub struct Palette;

const COLORS: [RGBColor; 10] = [
    RGBColor(0x54, 0xb3, 0x99),
    RGBColor(0x60, 0x92, 0xc0),
    RGBColor(0xd3, 0x60, 0x86),
    RGBColor(0x91, 0x70, 0xb8),
    RGBColor(0xca, 0x8e, 0xae),
    RGBColor(0xd6, 0xbf, 0x57),
    RGBColor(0xb9, 0xa8, 0x88),
    RGBColor(0xda, 0x8b, 0x45),
    RGBColor(0xaa, 0x65, 0x56),
    RGBColor(0xe7, 0x66, 0x4c),
];

impl Palette {
    /// The `index`-th colour, cycling.
    pub fn nth(index: usize) -> RGBColor {
        COLORS[index % COLORS.len()]
    }
}

/// The colour of a series or slice: fixed for well-known flow-log values, else by position.
pub fn color_for(label: &str, index: usize) -> RGBColor {
    match label {
        "ACCEPT" => RGBColor(0x54, 0xb3, 0x99),
        "REJECT" => RGBColor(0xe7, 0x66, 0x4c),
        "Other" => RGBColor(0xb0, 0xb7, 0xc3),
        "Missing" => RGBColor(0xd3, 0xda, 0xe6),
        _ => Palette::nth(index),
    }
}

/// `#e7664c` → the colour.
pub fn parse_hex_color(hex: &str) -> Option<RGBColor> {
    let hex = hex.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(RGBColor(channel(0)?, channel(2)?, channel(4)?))
}

/// The colour as `#rrggbb` (for HTML legends and tooltips).
pub fn to_hex(color: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

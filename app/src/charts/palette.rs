//! Series and slice colours: a colour-blind-safe palette, fixed colours for the values
//! flow-log users read at a glance (ACCEPT green, REJECT red), and one colour per term
//! wherever it appears ([`assign_colors`]).

use std::collections::BTreeMap;

use plotters::style::RGBColor;

/// The categorical palette (Elastic's colour-blind-safe one).
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

const ACCEPT: RGBColor = COLORS[0];
const REJECT: RGBColor = COLORS[9];

/// Values whose colour never changes: the green and red are theirs alone.
fn well_known(label: &str) -> Option<RGBColor> {
    match label {
        "ACCEPT" => Some(ACCEPT),
        "REJECT" => Some(REJECT),
        "Other" => Some(RGBColor(0xb0, 0xb7, 0xc3)),
        "Missing" => Some(RGBColor(0xd3, 0xda, 0xe6)),
        _ => None,
    }
}

/// The colours other terms get: the palette without ACCEPT's green and REJECT's red, then
/// lighter and darker shades of it.
fn slots() -> Vec<RGBColor> {
    let base: Vec<RGBColor> = COLORS[1..9].to_vec();
    let shade = |c: RGBColor, toward: u8, amount: f64| {
        let mix = |v: u8| (v as f64 + (toward as f64 - v as f64) * amount).round() as u8;
        RGBColor(mix(c.0), mix(c.1), mix(c.2))
    };
    let lighter = base.iter().map(|c| shade(*c, 255, 0.4));
    let darker = base.iter().map(|c| shade(*c, 0, 0.3));
    base.iter().copied().chain(lighter).chain(darker).collect()
}

/// A stable digest of a label (FNV-1a): the same term prefers the same slot everywhere.
fn digest(label: &str) -> u64 {
    label.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The colour of each label of a chart, or of a whole dashboard:
/// 1. `fixed` colours (chosen by the user) and the well-known values;
/// 2. `preferred` ones (a dashboard's synced colours) unless already taken here;
/// 3. for the rest, the slot its name hashes to, or the next free one. The labels are taken
///    in an order of their own, not their rank, so a term keeps its colour when a filter
///    reorders the terms; and no two labels share a colour while the slots last.
pub fn assign_colors<'a>(
    labels: impl IntoIterator<Item = &'a str>,
    fixed: &BTreeMap<String, String>,
    preferred: &BTreeMap<String, String>,
) -> ColorMap {
    let mut labels: Vec<&str> = labels.into_iter().collect();
    labels.sort_unstable();
    labels.dedup();
    let mut colors = BTreeMap::new();
    let mut taken: Vec<RGBColor> = vec![ACCEPT, REJECT];
    let mut open = Vec::new();
    for label in labels {
        // A colour chosen for a port before it was shown with its name still holds.
        let chosen = fixed
            .get(label)
            .or_else(|| fixed.get(crate::model::names::without_name(label)))
            .and_then(|hex| parse_hex_color(hex))
            .or_else(|| well_known(label));
        match chosen {
            Some(color) => {
                taken.push(color);
                colors.insert(label.to_owned(), color);
            }
            None => open.push(label),
        }
    }
    let mut unplaced = Vec::new();
    for label in open {
        match preferred.get(label).and_then(|hex| parse_hex_color(hex)) {
            Some(color) if !taken.contains(&color) => {
                taken.push(color);
                colors.insert(label.to_owned(), color);
            }
            _ => unplaced.push(label),
        }
    }
    let slots = slots();
    // A label hashes to a hue; the other hues are tried before any lighter or darker shade,
    // so that a few series never differ by shade alone.
    let hues = slots.len() / 3;
    let first_choice = |label: &str| (digest(label) % hues as u64) as usize;
    unplaced.sort_by_key(|label| (first_choice(label), *label));
    for label in unplaced {
        let start = first_choice(label);
        let free = (0..slots.len())
            .map(|step| slots[step / hues * hues + (start + step) % hues])
            .find(|color| !taken.contains(color));
        // Past the last free slot, terms share their first choice.
        let color = free.unwrap_or(slots[start]);
        taken.push(color);
        colors.insert(label.to_owned(), color);
    }
    ColorMap(colors)
}

/// Labels and their colours, from [`assign_colors`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColorMap(BTreeMap<String, RGBColor>);

impl ColorMap {
    /// A label's colour (grey for one that was not assigned).
    pub fn get(&self, label: &str) -> RGBColor {
        self.0
            .get(label)
            .copied()
            .unwrap_or(RGBColor(0xb0, 0xb7, 0xc3))
    }

    /// The colours as `#rrggbb`, by label (for a dashboard's synced colours).
    pub fn to_hex_map(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(label, color)| (label.clone(), to_hex(*color)))
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assign(labels: &[&str]) -> ColorMap {
        assign_colors(labels.iter().copied(), &BTreeMap::new(), &BTreeMap::new())
    }

    #[test]
    fn a_few_series_differ_by_hue_not_by_shade() {
        let base = &slots()[..8];
        for labels in [
            ["ACCEPT: Count", "REJECT: Count", "Count", "Bytes/s"],
            ["443 (https)", "53 (dns)", "22 (ssh)", "3389 (rdp)"],
        ] {
            let colors = assign(&labels);
            let mut hues: Vec<_> = labels.iter().map(|l| colors.get(l)).collect();
            assert!(hues.iter().all(|c| base.contains(c)), "{hues:?}");
            hues.sort_by_key(|c| (c.0, c.1, c.2));
            hues.dedup();
            assert_eq!(hues.len(), labels.len());
        }
    }

    #[test]
    fn terms_keep_one_colour_whatever_their_rank() {
        let ports = ["443", "22", "53", "3389", "3306", "80", "8080", "123"];
        let mut ranked = vec!["ACCEPT", "REJECT"];
        ranked.extend(ports);
        let colors = assign(&ranked);
        // The green and red are ACCEPT's and REJECT's alone; every label has its own colour.
        assert_eq!(colors.get("ACCEPT"), ACCEPT);
        assert_eq!(colors.get("REJECT"), REJECT);
        let mut seen: Vec<RGBColor> = ranked.iter().map(|l| colors.get(l)).collect();
        seen.sort_by_key(|c| (c.0, c.1, c.2));
        seen.dedup();
        assert_eq!(seen.len(), ranked.len());
        // Another rank order, the same colours.
        let mut reordered = ranked.clone();
        reordered.reverse();
        assert_eq!(assign(&reordered), colors);
        // A term alone keeps the colour it had among others unless another term wanted the
        // same slot first.
        let alone = assign(&["3389"]);
        assert_eq!(alone.get("3389"), assign(&["3389", "ACCEPT"]).get("3389"));
    }

    #[test]
    fn fixed_colours_win_and_preferred_ones_give_way_inside_a_chart() {
        let fixed = BTreeMap::from([("22".to_owned(), "#123456".to_owned())]);
        let preferred = BTreeMap::from([
            ("443".to_owned(), "#6092c0".to_owned()),
            ("53".to_owned(), "#6092c0".to_owned()),
        ]);
        let colors = assign_colors(["22", "443", "53"], &fixed, &preferred);
        assert_eq!(colors.get("22"), RGBColor(0x12, 0x34, 0x56));
        // 443 comes first in label order and keeps the shared colour; 53 gets another.
        assert_eq!(colors.get("443"), RGBColor(0x60, 0x92, 0xc0));
        assert_ne!(colors.get("53"), colors.get("443"));
    }
}

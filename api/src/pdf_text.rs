//! Text that comes from people (merchant and customer names, addresses, line descriptions,
//! memos) in invoice PDFs, in any script. Four fonts ship inside the binary (`api/fonts`, free
//! licences, see `api/fonts/LICENSES.md`) and are tried in order for each character: DejaVu Sans
//! (Latin, Greek, Cyrillic, Hebrew, Arabic, symbols), Droid Sans Fallback (Chinese, Japanese),
//! NanumSquare (Korean: every Hangul syllable and jamo; tried first for Hangul, so a Korean word
//! is set in one font), Symbola (emoji and other symbols). Each PDF embeds only the glyphs it uses (subsets
//! made with `subsetter`), as CID fonts with a ToUnicode map, so the text can be searched and
//! copied back out exactly.
//!
//! Lines are put in visual order with the Unicode bidirectional algorithm (`unicode-bidi`), so
//! Hebrew and Arabic read right to left. Letters are not shaped: Arabic prints in its isolated
//! forms. A character none of the fonts has prints as an empty box.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

struct Font {
    name: &'static str,
    data: &'static [u8],
    face: Face<'static>,
}

static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    [
        ("DejaVuSans", &include_bytes!("../fonts/DejaVuSans.ttf")[..]),
        (
            "DroidSansFallbackFull",
            &include_bytes!("../fonts/DroidSansFallbackFull.ttf")[..],
        ),
        (
            "NanumSquare",
            &include_bytes!("../fonts/NanumSquareR.ttf")[..],
        ),
        ("Symbola", &include_bytes!("../fonts/Symbola.ttf")[..]),
    ]
    .into_iter()
    .map(|(name, data)| Font {
        name,
        data,
        face: Face::parse(data, 0).expect("bundled fonts parse"),
    })
    .collect()
});

/// Resource names of the Unicode fonts on every page: /U0 … /U3.
fn resource(font: usize) -> Name<'static> {
    [Name(b"U0"), Name(b"U1"), Name(b"U2"), Name(b"U3")][font]
}

/// The Korean font's place in [`FONTS`].
const HANGUL_FONT: usize = 2;

/// Hangul syllables, jamo and their extensions.
fn is_hangul(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{A960}'..='\u{A97F}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{D7B0}'..='\u{D7FF}')
}

/// The font and glyph for a character: the first font that has it (the Korean font first for
/// Hangul), else font 0's empty box.
fn glyph_of(c: char) -> (usize, GlyphId) {
    if is_hangul(c) {
        if let Some(g) = FONTS[HANGUL_FONT].face.glyph_index(c) {
            return (HANGUL_FONT, g);
        }
    }
    FONTS
        .iter()
        .enumerate()
        .find_map(|(i, f)| f.face.glyph_index(c).map(|g| (i, g)))
        .unwrap_or((0, GlyphId(0)))
}

fn advance(font: usize, glyph: GlyphId) -> f32 {
    let face = &FONTS[font].face;
    face.glyph_hor_advance(glyph).unwrap_or(0) as f32 * 1000.0 / face.units_per_em() as f32
}

/// Width of `s` at `size` points.
pub fn width(s: &str, size: f32) -> f32 {
    s.chars()
        .map(|c| {
            let (f, g) = glyph_of(c);
            advance(f, g)
        })
        .sum::<f32>()
        * size
        / 1000.0
}

/// `s` broken into lines no wider than `max` points at `size`: at spaces where it can, inside a
/// word (or between ideographs) where it must.
pub fn wrap(s: &str, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_inclusive(' ') {
            let candidate = format!("{line}{word}");
            if width(candidate.trim_end(), size) <= max {
                line = candidate;
                continue;
            }
            if !line.trim().is_empty() {
                lines.push(line.trim_end().to_owned());
                line.clear();
            }
            for c in word.chars() {
                let candidate = format!("{line}{c}");
                if width(candidate.trim_end(), size) > max && !line.is_empty() {
                    lines.push(line.trim_end().to_owned());
                    line = c.to_string();
                } else {
                    line = candidate;
                }
            }
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// The glyphs one document uses, per font, renumbered for its subsets.
pub struct Glyphs {
    remappers: Vec<GlyphRemapper>,
    /// New glyph id → the text it stands for, per font (for ToUnicode).
    text: Vec<BTreeMap<u16, String>>,
}

impl Default for Glyphs {
    fn default() -> Self {
        Self {
            remappers: FONTS.iter().map(|_| GlyphRemapper::new()).collect(),
            text: FONTS.iter().map(|_| BTreeMap::new()).collect(),
        }
    }
}

impl Glyphs {
    /// Shows `s` at (x, y): runs of one font each, in visual order.
    pub fn show(&mut self, content: &mut Content, size: f32, x: f32, y: f32, s: &str) {
        let visual = visual_order(s);
        content.begin_text();
        content.next_line(x, y);
        let mut run: Option<(usize, Vec<u8>)> = None;
        for c in visual.chars() {
            let (font, glyph) = glyph_of(c);
            let new = self.remappers[font].remap(glyph.0);
            self.text[font].entry(new).or_insert_with(|| c.to_string());
            match &mut run {
                Some((f, bytes)) if *f == font => bytes.extend(new.to_be_bytes()),
                _ => {
                    if let Some((f, bytes)) = run.take() {
                        content.set_font(resource(f), size);
                        content.show(Str(&bytes));
                    }
                    run = Some((font, new.to_be_bytes().to_vec()));
                }
            }
        }
        if let Some((f, bytes)) = run {
            content.set_font(resource(f), size);
            content.show(Str(&bytes));
        }
        content.end_text();
    }

    /// Writes the fonts this document used, from `next` on; returns (resource name, font ref)
    /// for page resources, and the next free id.
    pub fn write(self, pdf: &mut Pdf, mut next: i32) -> (Vec<(Name<'static>, Ref)>, i32) {
        let mut resources = Vec::new();
        let mut alloc = || {
            next += 1;
            Ref::new(next - 1)
        };
        for (i, (remapper, text)) in self.remappers.into_iter().zip(self.text).enumerate() {
            if text.is_empty() {
                continue;
            }
            let font = &FONTS[i];
            // The fonts are part of the binary and tested: a failure here is a build defect.
            let subset =
                subsetter::subset(font.data, 0, &remapper).expect("bundled fonts can be subset");
            let (type0, cid, descriptor, file, cmap) =
                (alloc(), alloc(), alloc(), alloc(), alloc());
            // A subset's name carries a tag of six capitals (PDF 32000-1, 9.6.4).
            let base = format!("PORTAL{}+{}", ["A", "B", "C"][i], font.name);
            let base = Name(base.as_bytes());
            pdf.type0_font(type0)
                .base_font(base)
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(cmap);
            let info = SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            };
            let widths: Vec<f32> = remapper
                .remapped_gids()
                .map(|old| advance(i, GlyphId(old)))
                .collect();
            let mut cid_font = pdf.cid_font(cid);
            cid_font
                .subtype(CidFontType::Type2)
                .base_font(base)
                .system_info(info)
                .font_descriptor(descriptor)
                .default_width(0.0)
                .cid_to_gid_map_predefined(Name(b"Identity"));
            cid_font.widths().consecutive(0, widths);
            cid_font.finish();
            let face = &font.face;
            let scale = |v: i16| v as f32 * 1000.0 / face.units_per_em() as f32;
            let bbox = face.global_bounding_box();
            pdf.font_descriptor(descriptor)
                .name(base)
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(Rect::new(
                    scale(bbox.x_min),
                    scale(bbox.y_min),
                    scale(bbox.x_max),
                    scale(bbox.y_max),
                ))
                .italic_angle(0.0)
                .ascent(scale(face.ascender()))
                .descent(scale(face.descender()))
                .cap_height(scale(face.capital_height().unwrap_or(face.ascender())))
                .stem_v(80.0)
                .font_file2(file);
            pdf.stream(file, &subset);
            let mut map = UnicodeCmap::new(Name(b"Custom"), info);
            for (glyph, s) in &text {
                map.pair_with_multiple(*glyph, s.chars());
            }
            pdf.cmap(cmap, &map.finish());
            resources.push((resource(i), type0));
        }
        (resources, next)
    }
}

/// `s` in the order it is read on the page (right-to-left runs reversed).
fn visual_order(s: &str) -> String {
    let info = unicode_bidi::BidiInfo::new(s, None);
    match info.paragraphs.first() {
        Some(p) => info.reorder_line(p, p.range.clone()).into_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_has_a_glyph() {
        for c in [
            'A', 'Ω', 'λ', 'Ж', 'ש', 'ع', '中', '日', 'あ', '😀', '€', 'ü', '한', 'ㄱ',
        ] {
            assert_ne!(glyph_of(c).1, GlyphId(0), "{c}");
        }
    }

    #[test]
    fn every_hangul_syllable_prints_in_the_korean_font() {
        for c in '\u{AC00}'..='\u{D7A3}' {
            let (font, glyph) = glyph_of(c);
            assert_eq!(FONTS[font].name, "NanumSquare", "{c}");
            assert_ne!(glyph, GlyphId(0), "{c}");
        }
    }

    #[test]
    fn wraps_at_spaces_and_inside_long_words() {
        let max = width("alpha beta gamma", 10.0) - 0.1;
        let lines = wrap("alpha beta gamma delta", 10.0, max);
        assert_eq!(lines, ["alpha beta", "gamma delta"]);
        let cjk = "中".repeat(40);
        for line in wrap(&cjk, 10.0, 100.0) {
            assert!(width(&line, 10.0) <= 100.0);
        }
        assert_eq!(wrap(&cjk, 10.0, 100.0).concat(), cjk);
    }

    #[test]
    fn right_to_left_runs_read_right_to_left() {
        assert_eq!(visual_order("שלום"), "םולש");
        assert_eq!(visual_order("abc"), "abc");
    }
}

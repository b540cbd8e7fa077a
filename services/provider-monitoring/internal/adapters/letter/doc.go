// Package letter renders a decision (beschikking) on an application for a Wmo 2015
// maatwerkvoorziening or a Jeugdwet individuele voorziening as the letter the resident receives:
// HTML (for the portal and e-mail, html/template with auto-escaping) and PDF (for post and the
// record kept with the decision).
//
// Who reads it: the applicant — for youth care usually the parents of the young person — who
// is often not used to official letters. The text is therefore plain Dutch at language level B1:
// short sentences, "u", active voice, a question as each heading ("Wat hebben we besloten?",
// "Waarom?", "Moet u iets betalen?", "Bent u het niet eens met dit besluit?"), and every legal term
// explained where it is used. All Dutch text lives in one place (compose, text.go); HTML and PDF
// draw the same composed document, so they cannot say different things.
//
// The letter is a pure rendering of a [Letter] whose fields are already display values (names,
// codes and texts, no ids to look up); it does no I/O. [Letter.Validate] refuses a letter that
// lacks an element the law requires, and [HTML] and [PDF] refuse to render one. Covered:
//
//   - the decision itself: granted, partly granted or refused, for whom (Jeugdwet: the young
//     person), the provision by product category and code, form (in kind from a provider, or a
//     personal budget: Wmo 2015 art. 2.3.6, Jeugdwet art. 8.1.1), period, volume and frequency;
//   - the legal basis: Wmo 2015 art. 2.3.5 or Jeugdwet art. 2.3;
//   - the motivation stated with the decision (Awb art. 3:46 and 3:47): the goals per life
//     domain with the ZRM score now and the target score (1–5), the professional's motivation,
//     and for a refusal its grounds;
//   - for a Wmo provision the own contribution (eigen bijdrage), set and collected by the CAK;
//   - the objection clause (Awb art. 3:45): objection is possible within six weeks from the day
//     after the letter was sent (Awb art. 6:7 and 6:8), to the college at the municipality's
//     address, and what the objection must contain (Awb art. 6:5);
//   - date (dagtekening), decision number, and the official who decided on behalf of the
//     college van burgemeester en wethouders under mandate (Awb art. 10:1), with a second
//     official when the four-eyes rule applies.
//
// The municipality's standard paragraphs (opening, closing, contact) are versioned data per
// municipality; the caller passes the version in force as plain text.
//
// The PDF is set in DejaVu Sans, regular and bold, embedded in the binary (fonts/, with its
// licence); fpdf puts only the glyphs a letter uses in the PDF (a letter is about 40 kB). It spells
// names as registered: Latin script with any diacritic (Turkish, Polish, Czech, Vietnamese …),
// Greek and Cyrillic (text is composed first, NFC). A character the PDF cannot show — an emoji or
// anything else without a glyph in both fonts, or a script fpdf cannot set because it runs right to
// left or joins its letters (Arabic, Hebrew) or needs shaping (the Indic scripts) — is written as
// its compatibility form when that can be shown (𝐀 → A) and otherwise as "?", so the letter always
// renders and shows that something is missing there; invisible format characters (soft hyphen,
// zero-width space, direction marks) are left out. The HTML keeps every character.
//
// Accessibility (WCAG 2.1 AA, EN 301 549): the HTML letter has lang="nl", a title, one h1 and
// an h2 per question, header/main/footer landmarks, tables with a caption and th scope, black
// text, and reflows at 320 CSS px (table cells may break a long word there rather than make the
// page scroll sideways). The PDF has its language (/Lang nl-NL), its title shown by the reader
// (/DisplayDocTitle), text that extracts in reading order and embedded fonts, but no tags
// (fpdf cannot write a structure tree): for a screen reader the HTML letter is the accessible
// one.
package letter

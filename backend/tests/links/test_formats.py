"""Recognising exports from their header row, their encodings and delimiters, and reading
one row: URLs, the project's site, dates in the tools' forms, flags and counts."""

import codecs
from datetime import date
from pathlib import Path

import pytest

from app.links.encoding import detect_encoding, read_header
from app.links.formats import UnknownFormatError, recognise
from app.links.rows import (
    LinkRowReader,
    RejectedRow,
    SiteScope,
    SummaryRowReader,
    parse_count,
    parse_date,
)
from tests.links.exports import (
    AHREFS_HEADER,
    GSC_LINKS_HEADER,
    GSC_TOP_LINKED_PAGES_HEADER,
    GSC_TOP_LINKING_SITES_HEADER,
    MAJESTIC_HEADER,
    SEMRUSH_HEADER,
    ahrefs_row,
    ahrefs_utf16,
    csv_text,
    majestic_row,
    semrush_row,
    write,
)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (AHREFS_HEADER, "ahrefs"),
        (SEMRUSH_HEADER, "semrush"),
        (MAJESTIC_HEADER, "majestic"),
        (GSC_LINKS_HEADER, "gsc_links"),
        (GSC_TOP_LINKING_SITES_HEADER, "gsc_top_linking_sites"),
        (GSC_TOP_LINKED_PAGES_HEADER, "gsc_top_linked_pages"),
        # Older Ahrefs CSV exports
        (["Referring Page URL", "Referring Page Title", "Link URL", "Link Anchor"], "ahrefs"),
    ],
)
def test_each_format_is_recognised_from_its_header(header: list[str], name: str) -> None:
    assert recognise(header).format.name == name


def test_an_unknown_header_names_what_each_format_expects() -> None:
    with pytest.raises(UnknownFormatError) as raised:
        recognise(["url", "links", "whatever"])
    message = str(raised.value)
    assert "'url', 'links', 'whatever'" in message
    for expected in ("Referring page URL", "Page ascore", "FlagNoFollow", "Linking page"):
        assert expected in message
    # A file name never decides: Semrush's columns without its signature are not Semrush.
    with pytest.raises(UnknownFormatError):
        recognise(["Source url", "Target url", "Anchor"])


def test_ahrefs_utf16_with_bom_tabs_and_quoted_newlines(tmp_path: Path) -> None:
    row = ahrefs_row(
        source="https://blog.test/a", target="https://example.com/", anchor="two\nlines"
    )
    path = write(tmp_path / "export.csv", ahrefs_utf16([row]))
    encoding = detect_encoding(path)
    assert (encoding.encoding, encoding.bom_length) == ("utf-16-le", 2)
    header = read_header(path, encoding)
    assert header.delimiter == "\t"
    assert header.columns == AHREFS_HEADER


def test_utf8_with_and_without_bom_and_semicolons(tmp_path: Path) -> None:
    text = csv_text(SEMRUSH_HEADER, [], delimiter=";")
    plain = write(tmp_path / "plain.csv", text.encode())
    assert detect_encoding(plain).encoding == "utf-8"
    assert read_header(plain, detect_encoding(plain)).delimiter == ";"
    with_bom = write(tmp_path / "bom.csv", codecs.BOM_UTF8 + text.encode())
    encoding = detect_encoding(with_bom)
    assert (encoding.encoding, encoding.bom_length) == ("utf-8", 3)
    assert read_header(with_bom, encoding).columns == SEMRUSH_HEADER


def test_a_cp1252_file_is_read_as_such_even_when_its_accents_come_late(tmp_path: Path) -> None:
    rows = [
        semrush_row(source=f"https://site{i}.test/", target="https://example.com/", anchor="plain")
        for i in range(2000)
    ]
    rows.append(
        semrush_row(
            source="https://café.test/",
            target="https://example.com/",
            anchor="Crème brûlée façon grand-mère — à déguster",
        )
    )
    path = write(tmp_path / "cp1252.csv", csv_text(SEMRUSH_HEADER, rows).encode("cp1252"))
    assert detect_encoding(path).encoding == "cp1252"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-01-31", date(2024, 1, 31)),
        ("2024-01-31 10:00:00", date(2024, 1, 31)),
        ("2024-01-31T10:00:00Z", date(2024, 1, 31)),
        ("2024-01-31T23:30:00-05:00", date(2024, 2, 1)),
        ("31/01/2024", date(2024, 1, 31)),
        ("01/31/2024", date(2024, 1, 31)),
        ("05/03/2024", date(2024, 3, 5)),  # ambiguous: day first
        ("31.01.2024", date(2024, 1, 31)),
        ("Jan 31, 2024", date(2024, 1, 31)),
        ("January 31, 2024", date(2024, 1, 31)),
        ("31 Jan 2024", date(2024, 1, 31)),
        ("", None),
    ],
)
def test_dates_in_the_forms_the_tools_write(text: str, day: date | None) -> None:
    assert parse_date(text) == day


@pytest.mark.parametrize("text", ["yesterday", "2024-13-45", "31/31/2024", "N/A"])
def test_what_is_not_a_date(text: str) -> None:
    with pytest.raises(ValueError, match=r"date|month|day"):
        parse_date(text)


def test_counts_with_thousands_separators() -> None:
    assert [parse_count(v) for v in ("1,234", "1 234", "1.234", "12", "1,234,567")] == [
        1234,
        1234,
        1234,
        12,
        1234567,
    ]
    with pytest.raises(ValueError, match="count"):
        parse_count("many")


def _reader(header: list[str], *, include_subdomains: bool = False) -> LinkRowReader:
    site = "https://www.example.com/"
    return LinkRowReader(
        recognise(header),
        SiteScope(site, include_subdomains=include_subdomains),
        site_url=site,
    )


def test_an_ahrefs_row_read() -> None:
    link = _reader(AHREFS_HEADER).read(
        ahrefs_row(
            source="https://WWW.Blog.test/post?x=1",
            target="https://example.com/page",
            anchor="  Great read  ",
            dr="71.5",
            nofollow="true",
            sponsored="TRUE",
            lost="2024-04-02",
        )
    )
    assert link == (
        "https://WWW.Blog.test/post?x=1",
        "https://example.com/page",
        "blog.test",
        "Great read",
        "A referring page",
        date(2024, 1, 31),
        date(2024, 3, 1),
        True,
        date(2024, 4, 2),
        True,
        False,
        True,
        71.5,
    )


def test_nul_characters_never_reach_the_database() -> None:
    link = _reader(AHREFS_HEADER).read(
        ahrefs_row(source="https://a.test/", target="https://example.com/", anchor="a\x00b")
    )
    assert link[3] == "ab"


def test_semrush_and_majestic_flags() -> None:
    semrush = _reader(SEMRUSH_HEADER).read(
        semrush_row(source="https://a.test/", target="https://example.com/", lost="true")
    )
    assert (semrush[7], semrush[8]) == (True, date(2024, 3, 1))  # lost on its last sighting
    majestic = _reader(MAJESTIC_HEADER).read(
        majestic_row(source="https://a.test/", target="https://example.com/", nofollow="+")
    )
    assert (majestic[5], majestic[6], majestic[9], majestic[12]) == (
        date(2024, 1, 31),
        date(2024, 3, 1),
        True,
        23.0,
    )


def test_gsc_links_point_at_the_site() -> None:
    link = _reader(GSC_LINKS_HEADER).read(["https://forum.test/t/1", "Jan 31, 2024"])
    assert (link[1], link[2], link[6]) == (
        "https://www.example.com/",
        "forum.test",
        date(2024, 1, 31),
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (ahrefs_row(source="ftp://a.test/", target="https://example.com/"), "source URL"),
        (ahrefs_row(source="not a url", target="https://example.com/"), "source URL"),
        (ahrefs_row(source="https://a.test/", target="/relative"), "target URL is not an http"),
        (ahrefs_row(source="https://a.test/", target="https://other.test/"), "not on the project"),
        (ahrefs_row(source="https://a.test/", target="https://blog.example.com/"), "not on the"),
        (
            ahrefs_row(source="https://a.test/", target="https://example.com/", first_seen="soon"),
            "First seen is not a date: 'soon'",
        ),
        (["https://a.test/"], "the row has 1 columns"),
        (ahrefs_row(source="https://a.test/\x00", target="https://example.com/"), "source URL"),
    ],
)
def test_rows_rejected_with_a_reason(row: list[str], reason: str) -> None:
    with pytest.raises(RejectedRow, match=reason):
        _reader(AHREFS_HEADER).read(row)


def test_subdomains_count_when_the_project_includes_them() -> None:
    reader = _reader(AHREFS_HEADER, include_subdomains=True)
    link = reader.read(ahrefs_row(source="https://a.test/", target="https://blog.example.com/x"))
    assert link[1] == "https://blog.example.com/x"
    with pytest.raises(RejectedRow):
        reader.read(ahrefs_row(source="https://a.test/", target="https://notexample.com/"))


def test_summary_rows() -> None:
    reader = SummaryRowReader(recognise(GSC_TOP_LINKING_SITES_HEADER))
    assert reader.read(["blog.test", "1,234", "12"]) == ("blog.test", 1234, 12)
    with pytest.raises(RejectedRow, match="not a count"):
        reader.read(["blog.test", "lots", "12"])


def _outcome(reader: LinkRowReader, row: list[str]) -> object:
    try:
        return reader.read(list(row))
    except RejectedRow as exc:
        return str(exc)


def test_the_cached_answers_are_each_urls_own() -> None:
    """A reader caches the referring domain per URL authority (what comes before the first
    `/` after the scheme) and the verdict per target URL: one reader reading URLs that share
    their beginnings answers each as a fresh reader does."""
    sources = [
        "https://a.test",
        "https://a.test/x",
        "https://a.test?q=/x",
        "https://a.test#/x",
        "https://A.test:80/",
        "https://a.test:8o/",
        "https://u@a.test/",
        "https://u@b.test/",
        "http://www.a.test/",
        "https://www.a.test./",
        "https://exa mple.test/",
        "https:///x",
        "HTTPS://www.B.test/",
        "https://[::1]:8080/",
        "https://bücher.test/",
    ]
    targets = [
        "https://example.com/",
        "https://example.com?x=/",
        "https://example.com.evil.test/",
        "https://www.example.com:80/a",
        "https://user@evil.test/",
        "http://evil.test?example.com/",
    ]
    shared = _reader(AHREFS_HEADER)
    answers = set()
    for _ in range(2):  # the second pass answers from the caches
        for source in sources:
            for target in targets:
                row = ahrefs_row(source=source, target=target)
                answer = _outcome(shared, row)
                assert answer == _outcome(_reader(AHREFS_HEADER), row), (source, target)
                answers.add(answer if isinstance(answer, str) else answer[2])
    # Both kinds of answer were given: domains and rejections of either URL.
    assert {"a.test", "b.test", "bücher.test".encode("idna").decode()} <= answers
    assert any(a.startswith("the source URL") for a in answers)
    assert any(a.startswith("the target URL is not on") for a in answers)

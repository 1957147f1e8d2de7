"""Language and region codes: ISO 639-1 languages, ISO 3166-1 alpha-2 regions, and the
hreflang and `lang` values built from them."""

import re

ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
    """.split()  # noqa: SIM905 - a table, not a list to maintain by hand
)

ISO_3166_1 = frozenset(
    """
    ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq
    br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm
    do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs
    gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn
    kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq
    mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm
    pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv
    sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi
    vn vu wf ws ye yt za zm zw
    """.split()  # noqa: SIM905 - a table, not a list to maintain by hand
)

_SCRIPT = re.compile(r"^[a-z]{4}$")
_M49 = re.compile(r"^[0-9]{3}$")


def language_of(code: str) -> str:
    """`en-GB` -> `en`; lower case."""
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


def valid_hreflang(code: str) -> bool:
    """`x-default`, or an ISO 639-1 language, optionally with an ISO 15924 script and an
    ISO 3166-1 alpha-2 region (`en`, `en-GB`, `zh-Hant`, `zh-Hant-TW`), as Google reads them."""
    value = code.strip().lower()
    if value == "x-default":
        return True
    parts = value.split("-")
    if parts[0] not in ISO_639_1 or len(parts) > 3:
        return False
    rest = parts[1:]
    if rest and _SCRIPT.match(rest[0]):
        rest = rest[1:]
    if not rest:
        return True
    return len(rest) == 1 and rest[0] in ISO_3166_1


def valid_lang(code: str) -> bool:
    """An HTML `lang` value (BCP 47): a 2-letter ISO 639-1 or a 3-letter language, then an
    optional script, then an ISO 3166-1 alpha-2 or UN M.49 region; further subtags
    (variants, extensions) are accepted as written."""
    parts = code.strip().lower().split("-")
    language = parts[0]
    if not (language in ISO_639_1 or (len(language) == 3 and language.isalpha())):
        return False
    rest = parts[1:]
    if rest and _SCRIPT.match(rest[0]):
        rest = rest[1:]
    if rest and len(rest[0]) == 2:
        return rest[0] in ISO_3166_1
    if rest and _M49.match(rest[0]):
        return True
    return all(part.isalnum() and 1 <= len(part) <= 8 for part in rest)

"""The codes a keyword is tracked in: ISO 3166-1 alpha-2 countries (with their numeric codes:
DataForSEO's country locations are Google's geo targets, 2000 + the ISO numeric code, e.g.
2840 for US) and ISO 639-1 languages. Kept here as data: a few hundred stable codes are not
worth a dependency."""

# alpha-2 + numeric, the whole ISO 3166-1 list.
_COUNTRIES = """
AD020 AE784 AF004 AG028 AI660 AL008 AM051 AO024 AQ010 AR032 AS016 AT040 AU036 AW533 AX248
AZ031 BA070 BB052 BD050 BE056 BF854 BG100 BH048 BI108 BJ204 BL652 BM060 BN096 BO068 BQ535
BR076 BS044 BT064 BV074 BW072 BY112 BZ084 CA124 CC166 CD180 CF140 CG178 CH756 CI384 CK184
CL152 CM120 CN156 CO170 CR188 CU192 CV132 CW531 CX162 CY196 CZ203 DE276 DJ262 DK208 DM212
DO214 DZ012 EC218 EE233 EG818 EH732 ER232 ES724 ET231 FI246 FJ242 FK238 FM583 FO234 FR250
GA266 GB826 GD308 GE268 GF254 GG831 GH288 GI292 GL304 GM270 GN324 GP312 GQ226 GR300 GS239
GT320 GU316 GW624 GY328 HK344 HM334 HN340 HR191 HT332 HU348 ID360 IE372 IL376 IM833 IN356
IO086 IQ368 IR364 IS352 IT380 JE832 JM388 JO400 JP392 KE404 KG417 KH116 KI296 KM174 KN659
KP408 KR410 KW414 KY136 KZ398 LA418 LB422 LC662 LI438 LK144 LR430 LS426 LT440 LU442 LV428
LY434 MA504 MC492 MD498 ME499 MF663 MG450 MH584 MK807 ML466 MM104 MN496 MO446 MP580 MQ474
MR478 MS500 MT470 MU480 MV462 MW454 MX484 MY458 MZ508 NA516 NC540 NE562 NF574 NG566 NI558
NL528 NO578 NP524 NR520 NU570 NZ554 OM512 PA591 PE604 PF258 PG598 PH608 PK586 PL616 PM666
PN612 PR630 PS275 PT620 PW585 PY600 QA634 RE638 RO642 RS688 RU643 RW646 SA682 SB090 SC690
SD729 SE752 SG702 SH654 SI705 SJ744 SK703 SL694 SM674 SN686 SO706 SR740 SS728 ST678 SV222
SX534 SY760 SZ748 TC796 TD148 TF260 TG768 TH764 TJ762 TK772 TL626 TM795 TN788 TO776 TR792
TT780 TV798 TW158 TZ834 UA804 UG800 UM581 US840 UY858 UZ860 VA336 VC670 VE862 VG092 VI850
VN704 VU548 WF876 WS882 YE887 YT175 ZA710 ZM894 ZW716
"""

COUNTRY_NUMERIC: dict[str, int] = {item[:2]: int(item[2:]) for item in _COUNTRIES.split()}

LANGUAGES = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
    """.split()  # noqa: SIM905 - a table reads better as text
)

# What people type instead of the ISO code.
COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}


def country_code(value: str) -> str:
    """`us` -> `US`; ValueError naming the fix for anything that is not ISO 3166-1 alpha-2."""
    code = value.strip().upper()
    if code in COUNTRY_NUMERIC:
        return code
    hint = COUNTRY_HINTS.get(code)
    if hint:
        raise ValueError(f"country {value!r} is not an ISO 3166-1 code: use {hint}")
    raise ValueError(f"country {value!r} is not an ISO 3166-1 alpha-2 code (e.g. US, GB, DE)")


def language_code(value: str) -> str:
    code = value.strip().lower()
    if code in LANGUAGES:
        return code
    raise ValueError(f"language {value!r} is not an ISO 639-1 code (e.g. en, de, fr)")


def dataforseo_location_code(country: str) -> int:
    """DataForSEO's (Google's) location code of a whole country."""
    return 2000 + COUNTRY_NUMERIC[country]

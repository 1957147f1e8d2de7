/** Countries offered by the filter, as Search Console names them: ISO 3166-1 alpha-3,
 * lower case ("usa"). The most common markets; the API accepts any code. */
export const GSC_COUNTRIES: { value: string; label: string }[] = [
  ["usa", "United States"],
  ["gbr", "United Kingdom"],
  ["can", "Canada"],
  ["aus", "Australia"],
  ["ind", "India"],
  ["deu", "Germany"],
  ["fra", "France"],
  ["esp", "Spain"],
  ["ita", "Italy"],
  ["nld", "Netherlands"],
  ["bel", "Belgium"],
  ["che", "Switzerland"],
  ["aut", "Austria"],
  ["swe", "Sweden"],
  ["pol", "Poland"],
  ["prt", "Portugal"],
  ["irl", "Ireland"],
  ["bra", "Brazil"],
  ["mex", "Mexico"],
  ["jpn", "Japan"],
].map(([value, label]) => ({ value: value!, label: label! }));

export const GSC_DEVICES = [
  { value: "DESKTOP", label: "Desktop" },
  { value: "MOBILE", label: "Mobile" },
  { value: "TABLET", label: "Tablet" },
];

export const GSC_SEARCH_TYPES = [
  { value: "web", label: "Web" },
  { value: "image", label: "Image" },
  { value: "video", label: "Video" },
  { value: "news", label: "News" },
  { value: "discover", label: "Discover" },
  { value: "googleNews", label: "Google News" },
];

//! Workspace widget types and what each one expects from its endpoint (contract §4).

/// How a widget's answer travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A JSON document (`application/json`).
    Json,
    /// Markdown text sent as a JSON-encoded string, as FastAPI backends do.
    JsonString,
    /// An HTML document (`text/html`).
    Html,
    /// Plain text (`text/plain`), e.g. a YouTube URL.
    Text,
}

/// A widget `type` as far as the gateway needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetType {
    /// `table`, also the default when `type` is absent.
    Table,
    /// `chart` (Plotly).
    Chart,
    /// `chart-highcharts`.
    ChartHighcharts,
    /// `chart-vegalite`.
    ChartVegalite,
    /// `markdown`.
    Markdown,
    /// `note`.
    Note,
    /// `metric`.
    Metric,
    /// `newsfeed`.
    Newsfeed,
    /// `pdf`.
    Pdf,
    /// `html`.
    Html,
    /// `youtube`.
    Youtube,
    /// `iframe`: the endpoint is an absolute URL the browser loads itself.
    Iframe,
    /// `omni`: POSTed params (with `prompt`) in, `{content, data_format}` out.
    Omni,
    /// `table_ssrm` / `ssrm_table`: AG Grid's server-side row model, POSTed.
    TableSsrm,
    /// `multi_file_viewer`: POSTed file names in, a list of files out.
    MultiFileViewer,
    /// Any other type Workspace knows (`live_grid`, `omni`, `table_ssrm`, …), served as JSON.
    Other(String),
}

/// Every type string Workspace is known to render (contract §4), including both spellings of the
/// two types whose names conflict between OpenBB's docs and validator.
pub const KNOWN_TYPES: &[&str] = &[
    "table",
    "chart",
    "chart-highcharts",
    "chart-vegalite",
    "markdown",
    "note",
    "metric",
    "newsfeed",
    "pdf",
    "html",
    "youtube",
    "iframe",
    "multi_file_viewer",
    "omni",
    "live_grid",
    "live_feed",
    "table_ssrm",
    "ssrm_table",
    "advanced_charting",
    "advanced-chart",
];

impl WidgetType {
    /// The type named by a widget's `type` field (`None` means the default, `table`).
    pub fn from_name(name: Option<&str>) -> WidgetType {
        match name.unwrap_or("table") {
            "table" => WidgetType::Table,
            "chart" => WidgetType::Chart,
            "chart-highcharts" => WidgetType::ChartHighcharts,
            "chart-vegalite" => WidgetType::ChartVegalite,
            "markdown" => WidgetType::Markdown,
            "note" => WidgetType::Note,
            "metric" => WidgetType::Metric,
            "newsfeed" => WidgetType::Newsfeed,
            "pdf" => WidgetType::Pdf,
            "html" => WidgetType::Html,
            "youtube" => WidgetType::Youtube,
            "iframe" => WidgetType::Iframe,
            "omni" => WidgetType::Omni,
            "table_ssrm" | "ssrm_table" => WidgetType::TableSsrm,
            "multi_file_viewer" => WidgetType::MultiFileViewer,
            other => WidgetType::Other(other.to_string()),
        }
    }

    /// How answers of this type are encoded.
    pub fn encoding(&self) -> Encoding {
        match self {
            WidgetType::Markdown | WidgetType::Note => Encoding::JsonString,
            WidgetType::Html => Encoding::Html,
            WidgetType::Youtube => Encoding::Text,
            _ => Encoding::Json,
        }
    }

    /// Whether Workspace calls this type with POST (a JSON body) rather than GET.
    pub fn is_post(&self) -> bool {
        matches!(
            self,
            WidgetType::Omni | WidgetType::TableSsrm | WidgetType::MultiFileViewer
        )
    }

    /// Whether this type's answer is text rather than a JSON document.
    pub fn is_text(&self) -> bool {
        self.encoding() != Encoding::Json
    }
}

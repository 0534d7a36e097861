//! Message bodies: `MsgBody` is an array of `{MsgType, MsgContent}` elements.
//!
//! Known element types are typed; every field is optional (old SDKs omit
//! media URLs) and unknown fields are kept. Unknown element types are kept
//! as raw JSON, so a body always survives a round trip unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// IM's maximum message size (the whole message, 12 KB).
pub const MAX_MESSAGE_BYTES: usize = 12 * 1024;

/// Fields an element has beyond the ones typed here.
pub type Extra = Map<String, Value>;

macro_rules! element_struct {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty = $json:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[serde(rename = $json, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Fields not typed here, preserved.
            #[serde(flatten)]
            pub extra: Extra,
        }
    };
}

element_struct!(
    /// `TIMTextElem`.
    TextElem { /// The text.
    text: String = "Text" }
);
element_struct!(
    /// `TIMCustomElem` (at most one per message).
    CustomElem {
        /// Payload.
        data: String = "Data",
        /// Push text.
        desc: String = "Desc",
        /// APNs passthrough.
        ext: String = "Ext",
        /// Push sound.
        sound: String = "Sound",
    }
);
element_struct!(
    /// `TIMFaceElem`.
    FaceElem { /// Face index.
    index: i64 = "Index", /// Face data.
    data: String = "Data" }
);
element_struct!(
    /// `TIMLocationElem`.
    LocationElem {
        /// Description.
        desc: String = "Desc",
        /// Latitude.
        latitude: f64 = "Latitude",
        /// Longitude.
        longitude: f64 = "Longitude",
    }
);
element_struct!(
    /// `TIMImageElem`.
    ImageElem {
        /// Image id.
        uuid: String = "UUID",
        /// 1 JPG, 2 GIF, 3 PNG, 4 BMP, 255 other.
        image_format: i64 = "ImageFormat",
        /// Original, large and thumbnail variants.
        image_info_array: Vec<Value> = "ImageInfoArray",
    }
);
element_struct!(
    /// `TIMSoundElem`.
    SoundElem {
        /// Download URL.
        url: String = "Url",
        /// Sound id.
        uuid: String = "UUID",
        /// Bytes.
        size: i64 = "Size",
        /// Seconds.
        second: i64 = "Second",
        /// Must be 2 when sent by REST.
        download_flag: i64 = "Download_Flag",
    }
);
element_struct!(
    /// `TIMFileElem`.
    FileElem {
        /// Download URL.
        url: String = "Url",
        /// File id.
        uuid: String = "UUID",
        /// Bytes.
        file_size: i64 = "FileSize",
        /// Name.
        file_name: String = "FileName",
        /// Must be 2 when sent by REST.
        download_flag: i64 = "Download_Flag",
    }
);
element_struct!(
    /// `TIMVideoFileElem` (thumbnail fields are kept in `extra`).
    VideoFileElem {
        /// Video URL.
        video_url: String = "VideoUrl",
        /// Video id.
        video_uuid: String = "VideoUUID",
        /// Bytes.
        video_size: i64 = "VideoSize",
        /// Seconds.
        video_second: i64 = "VideoSecond",
        /// Format, e.g. `mp4`.
        video_format: String = "VideoFormat",
    }
);
element_struct!(
    /// `TIMRelayElem` (combined / forwarded messages).
    RelayElem {
        /// Title.
        title: String = "Title",
        /// Number of messages.
        msg_num: i64 = "MsgNum",
        /// Text for clients that cannot render it.
        compatible_text: String = "CompatibleText",
    }
);

/// One element of a `MsgBody`.
///
/// Deserializing never fails on an element's content: a known type whose
/// content does not fit its shape (`{"MsgType": "TIMFaceElem", "MsgContent":
/// {"Index": "x"}}`) is kept as [`MsgElement::Unknown`], so one malformed
/// element cannot make the message around it unreadable, and what it holds
/// can still be screened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "RawElement")]
pub enum MsgElement {
    /// `TIMTextElem`.
    Text(TextElem),
    /// `TIMCustomElem`.
    Custom(CustomElem),
    /// `TIMFaceElem`.
    Face(FaceElem),
    /// `TIMLocationElem`.
    Location(LocationElem),
    /// `TIMImageElem`.
    Image(ImageElem),
    /// `TIMSoundElem`.
    Sound(SoundElem),
    /// `TIMFileElem`.
    File(FileElem),
    /// `TIMVideoFileElem`.
    VideoFile(VideoFileElem),
    /// `TIMRelayElem`.
    Relay(RelayElem),
    /// Any other type, kept as it came.
    Unknown {
        /// `MsgType`.
        msg_type: String,
        /// `MsgContent`.
        content: Value,
    },
}

/// The wire shape of an element.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawElement {
    /// `MsgType`.
    #[serde(rename = "MsgType")]
    pub msg_type: String,
    /// `MsgContent`.
    #[serde(rename = "MsgContent", default)]
    pub content: Value,
}

impl<'de> Deserialize<'de> for MsgElement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_value(Value::deserialize(deserializer)?))
    }
}

impl MsgElement {
    /// The element a JSON value stands for; anything that is not a
    /// well-formed element of a known type becomes [`MsgElement::Unknown`]
    /// (a value that is not even `{MsgType, MsgContent}` has an empty type
    /// and the whole value as content).
    pub fn from_value(value: Value) -> Self {
        let Value::Object(mut object) = value else {
            return Self::Unknown {
                msg_type: String::new(),
                content: value,
            };
        };
        let Some(Value::String(msg_type)) = object.remove("MsgType") else {
            return Self::Unknown {
                msg_type: String::new(),
                content: Value::Object(object),
            };
        };
        let content = object.remove("MsgContent").unwrap_or(Value::Null);
        fn typed<T: serde::de::DeserializeOwned>(content: &Value) -> Option<T> {
            match content {
                Value::Null => serde_json::from_value(Value::Object(Map::new())).ok(),
                other => T::deserialize(other).ok(),
            }
        }
        let element = match msg_type.as_str() {
            "TIMTextElem" => typed(&content).map(Self::Text),
            "TIMCustomElem" => typed(&content).map(Self::Custom),
            "TIMFaceElem" => typed(&content).map(Self::Face),
            "TIMLocationElem" => typed(&content).map(Self::Location),
            "TIMImageElem" => typed(&content).map(Self::Image),
            "TIMSoundElem" => typed(&content).map(Self::Sound),
            "TIMFileElem" => typed(&content).map(Self::File),
            "TIMVideoFileElem" => typed(&content).map(Self::VideoFile),
            "TIMRelayElem" => typed(&content).map(Self::Relay),
            _ => None,
        };
        element.unwrap_or(Self::Unknown { msg_type, content })
    }
}

impl From<MsgElement> for RawElement {
    fn from(element: MsgElement) -> Self {
        fn raw<T: Serialize>(msg_type: &str, content: T) -> RawElement {
            RawElement {
                msg_type: msg_type.into(),
                content: serde_json::to_value(content).unwrap_or(Value::Null),
            }
        }
        match element {
            MsgElement::Text(c) => raw("TIMTextElem", c),
            MsgElement::Custom(c) => raw("TIMCustomElem", c),
            MsgElement::Face(c) => raw("TIMFaceElem", c),
            MsgElement::Location(c) => raw("TIMLocationElem", c),
            MsgElement::Image(c) => raw("TIMImageElem", c),
            MsgElement::Sound(c) => raw("TIMSoundElem", c),
            MsgElement::File(c) => raw("TIMFileElem", c),
            MsgElement::VideoFile(c) => raw("TIMVideoFileElem", c),
            MsgElement::Relay(c) => raw("TIMRelayElem", c),
            MsgElement::Unknown { msg_type, content } => RawElement { msg_type, content },
        }
    }
}

impl MsgElement {
    /// A text element.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(TextElem {
            text: Some(text.into()),
            extra: Extra::new(),
        })
    }

    /// The text of a text element.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => t.text.as_deref(),
            _ => None,
        }
    }

    /// The `MsgType` on the wire.
    pub fn msg_type(&self) -> &str {
        match self {
            Self::Text(_) => "TIMTextElem",
            Self::Custom(_) => "TIMCustomElem",
            Self::Face(_) => "TIMFaceElem",
            Self::Location(_) => "TIMLocationElem",
            Self::Image(_) => "TIMImageElem",
            Self::Sound(_) => "TIMSoundElem",
            Self::File(_) => "TIMFileElem",
            Self::VideoFile(_) => "TIMVideoFileElem",
            Self::Relay(_) => "TIMRelayElem",
            Self::Unknown { msg_type, .. } => msg_type,
        }
    }
}

/// The text elements of a body, joined.
pub fn joined_text(body: &[MsgElement]) -> String {
    body.iter().filter_map(MsgElement::as_text).collect()
}

/// Splits `text` into pieces of at most `max_bytes` UTF-8 bytes, preferring
/// to break after a sentence end (`.`, `!`, `?`, `。`, `！`, `？`, newline),
/// then after whitespace, and never inside a character. Pieces keep order and
/// concatenate back to `text`.
pub fn split_text(text: &str, max_bytes: usize) -> Vec<String> {
    assert!(max_bytes >= 4, "a piece must hold at least one character");
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max_bytes {
        let mut limit = max_bytes;
        while !rest.is_char_boundary(limit) {
            limit -= 1;
        }
        let window = &rest[..limit];
        let sentence = window
            .char_indices()
            .rev()
            .find(|(_, c)| matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n'))
            .map(|(i, c)| i + c.len_utf8());
        let space = window
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, c)| i + c.len_utf8());
        let mut cut = sentence.or(space).filter(|&i| i > 0).unwrap_or(limit);
        // Keep the spaces after a sentence with it, so the next piece starts
        // with a word.
        while let Some(c) = window[cut..].chars().next().filter(|c| c.is_whitespace()) {
            cut += c.len_utf8();
        }
        pieces.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_string());
    }
    pieces
}

/// One line of a conversation as a help desk's agents read it:
/// `[2026-12-07 21:40:05 UTC] alice: text`. `at` is Unix seconds; none (or
/// 0) reads `time unknown`. Used for a chatbot's transcript and for chat
/// copied into a ticket, so both read alike.
///
/// ```
/// use tim::message::transcript_line;
/// assert_eq!(
///     transcript_line(Some(1_765_000_000), "alice", "My order is late"),
///     "[2025-12-06 05:46:40 UTC] alice: My order is late"
/// );
/// assert_eq!(transcript_line(None, "bob", "hi"), "[time unknown] bob: hi");
/// ```
pub fn transcript_line(at: Option<u64>, who: &str, text: &str) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let when = at
        .filter(|&s| s > 0)
        .and_then(|s| i64::try_from(s).ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "time unknown".into());
    format!("[{when}] {who}: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_element_round_trips_including_unknown_ones() {
        let body = json!([
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}},
            {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "d", "Desc": "x", "Ext": "", "Sound": "", "NewField": 1}},
            {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "f"}},
            {"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "here", "Latitude": 22.5, "Longitude": 113.9}},
            {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "u", "ImageFormat": 1, "ImageInfoArray": [{"Type": 1}]}},
            {"MsgType": "TIMSoundElem", "MsgContent": {"UUID": "s", "Size": 10, "Second": 2}},
            {"MsgType": "TIMFileElem", "MsgContent": {"UUID": "f", "FileName": "a.pdf"}},
            {"MsgType": "TIMVideoFileElem", "MsgContent": {"VideoUUID": "v", "ThumbUUID": "t"}},
            {"MsgType": "TIMRelayElem", "MsgContent": {"Title": "chat", "MsgNum": 2, "MsgList": []}},
            {"MsgType": "TIMStreamElem", "MsgContent": {"Chunks": [{"Index": 0}]}}
        ]);
        let parsed: Vec<MsgElement> = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(parsed[0].as_text(), Some("hi"));
        assert!(matches!(parsed[9], MsgElement::Unknown { .. }));
        assert_eq!(parsed[9].msg_type(), "TIMStreamElem");
        assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
    }

    #[test]
    fn a_malformed_element_is_kept_and_its_neighbours_read() {
        let body = json!([
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}},
            {"MsgType": "TIMFaceElem", "MsgContent": {"Index": "x", "Data": "smile"}},
            "not an element",
            {"MsgType": 7}
        ]);
        let parsed: Vec<MsgElement> = serde_json::from_value(body).unwrap();
        assert_eq!(parsed[0].as_text(), Some("hello"));
        assert_eq!(
            parsed[1],
            MsgElement::Unknown {
                msg_type: "TIMFaceElem".into(),
                content: json!({"Index": "x", "Data": "smile"})
            }
        );
        assert_eq!(parsed[2].msg_type(), "");
        assert_eq!(parsed.len(), 4);
    }

    #[test]
    fn missing_content_fields_are_allowed() {
        let parsed: MsgElement = serde_json::from_value(
            json!({"MsgType": "TIMSoundElem", "MsgContent": {"UUID": "old-sdk"}}),
        )
        .unwrap();
        let MsgElement::Sound(sound) = parsed else {
            panic!()
        };
        assert_eq!(sound.url, None);
    }

    #[test]
    fn joins_text() {
        let body = vec![
            MsgElement::text("a"),
            MsgElement::Face(FaceElem::default()),
            MsgElement::text("b"),
        ];
        assert_eq!(joined_text(&body), "ab");
    }

    #[test]
    fn split_prefers_sentences_and_keeps_everything() {
        let text = "First sentence. Second one! Third, with no end";
        let pieces = split_text(text, 20);
        assert_eq!(pieces.concat(), text);
        assert_eq!(pieces[0], "First sentence. ");
        assert!(pieces.iter().all(|p| p.len() <= 20));
        let cjk = "你好。".repeat(2000);
        let pieces = split_text(&cjk, MAX_MESSAGE_BYTES);
        assert_eq!(pieces.concat(), cjk);
        assert!(
            pieces
                .iter()
                .all(|p| p.len() <= MAX_MESSAGE_BYTES && p.ends_with('。'))
        );
        assert_eq!(split_text("", 10), [""]);
        // No break opportunity: cut on a character boundary.
        let pieces = split_text(&"é".repeat(10), 5);
        assert_eq!(pieces.concat(), "é".repeat(10));
        assert!(pieces.iter().all(|p| p.len() <= 5));
    }
}

//! What of a delivered message the external service is asked about after
//! delivery, and what no service can judge, with the reason.
//!
//! Rich media cannot be judged inside IM's 2 s callback budget, so the
//! moderator delivers it and asks afterwards (`*.CallbackAfterSendMsg`):
//!
//! | element | asked as |
//! |---|---|
//! | `TIMImageElem` | the original image's URL |
//! | `TIMVideoFileElem` | its thumbnail (`ThumbUrl`) |
//! | `TIMSoundElem` | the audio by URL, when Tencent's short-audio check takes it: `wav`, `mp3` or `m4a`, at most 60 s and 5 MB |
//! | `TIMFileElem` | an image file as an image; an audio file as a voice |
//!
//! Everything else rich (a PDF, a voice too long, a format no service
//! reads) is named in [`Media::unchecked`] so the moderator can log that it
//! went unjudged, rather than pass it in silence.
//!
//! ```
//! use screening::media::{Subject, media};
//! let body: Vec<tim::message::MsgElement> = serde_json::from_value(serde_json::json!([
//!     {"MsgType": "TIMSoundElem", "MsgContent": {"Url": "https://cdn.example/v/1.m4a?sign=x",
//!         "UUID": "s1", "Size": 20000, "Second": 4, "Download_Flag": 2}},
//!     {"MsgType": "TIMFileElem", "MsgContent": {"Url": "https://cdn.example/f/2",
//!         "UUID": "f2", "FileSize": 90000, "FileName": "Report.PDF", "Download_Flag": 2}},
//! ])).unwrap();
//! let found = media(&body);
//! assert_eq!(found.subjects, [Subject::Audio {
//!     url: "https://cdn.example/v/1.m4a?sign=x".into(), format: "m4a" }]);
//! assert_eq!(found.unchecked, ["file `Report.PDF`: no service judges .pdf files"]);
//! ```

use tim::message::MsgElement;

/// The formats Tencent's short-audio check (`CreateAudioModerationSyncTask`)
/// reads, as its `FileFormat` names them.
pub const AUDIO_FORMATS: [&str; 3] = ["wav", "mp3", "m4a"];
/// The longest audio it reads, in seconds.
pub const MAX_AUDIO_SECS: i64 = 60;
/// The largest audio file it reads, in bytes (5 MB).
pub const MAX_AUDIO_BYTES: i64 = 5 * 1024 * 1024;

/// One thing to ask the external service about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Text.
    Text(String),
    /// An image, by URL.
    Image(String),
    /// A short audio, by URL, in one of Tencent's short-audio formats.
    Audio {
        /// Where it is.
        url: String,
        /// `wav`, `mp3` or `m4a`.
        format: &'static str,
    },
}

/// The media of a message body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Media {
    /// What can be asked about, in the body's order.
    pub subjects: Vec<Subject>,
    /// What cannot, each with the reason (for the log).
    pub unchecked: Vec<String>,
}

/// Image file extensions an image check reads.
const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "gif", "bmp", "webp"];

/// Sorts the rich elements of `body` into what the external service can be
/// asked about and what it cannot.
pub fn media(body: &[MsgElement]) -> Media {
    let mut media = Media::default();
    for element in body {
        match element {
            MsgElement::Image(image) => {
                // Type 1 is the original; fall back to any variant's URL.
                let variants = || image.image_info_array.iter().flatten();
                let url = variants()
                    .filter(|info| info["Type"] == 1)
                    .chain(variants())
                    .find_map(|info| info["URL"].as_str());
                match url {
                    Some(url) => media.subjects.push(Subject::Image(url.to_string())),
                    None => media.unchecked.push("image: no URL".into()),
                }
            }
            MsgElement::VideoFile(video) => {
                match video.extra.get("ThumbUrl").and_then(|u| u.as_str()) {
                    Some(url) => media.subjects.push(Subject::Image(url.to_string())),
                    None => media.unchecked.push("video: no thumbnail URL".into()),
                }
            }
            MsgElement::Sound(sound) => {
                let url = sound.url.as_deref().unwrap_or_default();
                let found = audio(url, extension(url), sound.second, sound.size);
                match found {
                    Ok(subject) => media.subjects.push(subject),
                    Err(why) => media.unchecked.push(format!("voice: {why}")),
                }
            }
            MsgElement::File(file) => {
                let name = file.file_name.as_deref().unwrap_or_default();
                let url = file.url.as_deref().unwrap_or_default();
                let extension = extension(name);
                let found = if url.is_empty() {
                    Err("no URL".to_string())
                } else if IMAGE_EXTENSIONS.contains(&extension.as_str()) {
                    Ok(Subject::Image(url.to_string()))
                } else if AUDIO_FORMATS.contains(&extension.as_str()) {
                    audio(url, extension, None, file.file_size)
                } else if extension.is_empty() {
                    Err("no service judges files without an extension".to_string())
                } else {
                    Err(format!("no service judges .{extension} files"))
                };
                match found {
                    Ok(subject) => media.subjects.push(subject),
                    Err(why) => media.unchecked.push(format!("file `{name}`: {why}")),
                }
            }
            _ => {}
        }
    }
    media
}

/// A short audio subject, or why the short-audio check cannot take it.
fn audio(
    url: &str,
    extension: String,
    seconds: Option<i64>,
    bytes: Option<i64>,
) -> Result<Subject, String> {
    if url.is_empty() {
        return Err("no URL".into());
    }
    let Some(format) = AUDIO_FORMATS.iter().find(|f| **f == extension) else {
        return Err(format!(
            "the short-audio check reads {}, not `{extension}`",
            AUDIO_FORMATS.join(", ")
        ));
    };
    if let Some(seconds) = seconds.filter(|s| *s > MAX_AUDIO_SECS) {
        return Err(format!(
            "{seconds} s is over the short-audio check's {MAX_AUDIO_SECS} s"
        ));
    }
    if let Some(bytes) = bytes.filter(|b| *b > MAX_AUDIO_BYTES) {
        return Err(format!(
            "{bytes} bytes is over the short-audio check's {MAX_AUDIO_BYTES}"
        ));
    }
    Ok(Subject::Audio {
        url: url.to_string(),
        format,
    })
}

/// The lower-case extension of a file name or of a URL's path (its query
/// and fragment left out).
fn extension(name_or_url: &str) -> String {
    let path = name_or_url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    match path.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => extension.to_ascii_lowercase(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(value: Value) -> Vec<MsgElement> {
        serde_json::from_value(value).unwrap()
    }

    fn sound(url: &str, second: i64, size: i64) -> Value {
        json!({"MsgType": "TIMSoundElem", "MsgContent": {"Url": url, "UUID": "s",
            "Size": size, "Second": second, "Download_Flag": 2}})
    }

    fn file(name: &str, size: i64) -> Value {
        json!({"MsgType": "TIMFileElem", "MsgContent": {"Url": "https://cdn.example/f",
            "UUID": "f", "FileSize": size, "FileName": name, "Download_Flag": 2}})
    }

    #[test]
    fn voices_go_to_the_short_audio_check_within_its_formats_and_limits() {
        let found = media(&body(json!([
            sound("https://cdn.example/a.MP3", 60, 1000),
            sound("https://cdn.example/b.wav#t", 3, 1000),
            sound("https://cdn.example/c.silk", 3, 1000),
            sound("https://cdn.example/d.m4a", 61, 1000),
            sound("https://cdn.example/e.m4a", 3, MAX_AUDIO_BYTES + 1),
            sound("https://cdn.example/noext", 3, 1000),
        ])));
        assert_eq!(
            found.subjects,
            [
                Subject::Audio {
                    url: "https://cdn.example/a.MP3".into(),
                    format: "mp3"
                },
                Subject::Audio {
                    url: "https://cdn.example/b.wav#t".into(),
                    format: "wav"
                },
            ]
        );
        assert_eq!(
            found.unchecked,
            [
                "voice: the short-audio check reads wav, mp3, m4a, not `silk`",
                "voice: 61 s is over the short-audio check's 60 s",
                "voice: 5242881 bytes is over the short-audio check's 5242880",
                "voice: the short-audio check reads wav, mp3, m4a, not ``",
            ]
        );
    }

    #[test]
    fn files_are_judged_by_what_their_name_says_they_are() {
        let found = media(&body(json!([
            file("holiday.JPG", 1000),
            file("memo.m4a", 1000),
            file("slides.pptx", 1000),
            file("README", 1000),
            file(".png", 1000),
        ])));
        assert_eq!(
            found.subjects,
            [
                Subject::Image("https://cdn.example/f".into()),
                Subject::Audio {
                    url: "https://cdn.example/f".into(),
                    format: "m4a"
                },
            ]
        );
        assert_eq!(
            found.unchecked,
            [
                "file `slides.pptx`: no service judges .pptx files",
                "file `README`: no service judges files without an extension",
                "file `.png`: no service judges files without an extension",
            ]
        );
    }

    #[test]
    fn images_and_video_thumbnails_are_asked_by_url_and_text_is_left_to_the_caller() {
        let found = media(&body(json!([
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "look"}},
            {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "i", "ImageFormat": 3, "ImageInfoArray": [
                {"Type": 3, "URL": "https://cdn.example/thumb.png"},
                {"Type": 1, "URL": "https://cdn.example/original.png"}]}},
            {"MsgType": "TIMVideoFileElem", "MsgContent": {"VideoUrl": "https://cdn.example/v.mp4",
                "VideoUUID": "v", "VideoSize": 9, "VideoSecond": 9, "VideoFormat": "mp4",
                "ThumbUrl": "https://cdn.example/v.jpg"}},
            {"MsgType": "TIMVideoFileElem", "MsgContent": {"VideoUrl": "https://cdn.example/w.mp4"}},
        ])));
        assert_eq!(
            found.subjects,
            [
                Subject::Image("https://cdn.example/original.png".into()),
                Subject::Image("https://cdn.example/v.jpg".into()),
            ]
        );
        assert_eq!(found.unchecked, ["video: no thumbnail URL"]);
        assert_eq!(media(&body(json!([]))), Media::default());
    }
}

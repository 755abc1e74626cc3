//! What kind of image a file is, from its first bytes only: the name and the
//! declared content type of an upload are the sender's word, the bytes are not.

/// The image types a photo may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
    /// HEIC or HEIF (iPhones' default).
    Heic,
}

impl ImageType {
    /// The content type a photo of this type is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
            ImageType::Heic => "image/heic",
        }
    }
}

/// The ISO base media brands of HEIC/HEIF still images and sequences.
const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
];

/// The image type of `bytes`, or None when they are none of those taken.
pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageType::Jpeg);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Some(ImageType::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(ImageType::Webp);
    }
    // an ftyp box first: size (4), "ftyp", the major brand
    if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && HEIF_BRANDS.iter().any(|b| &bytes[8..12] == *b)
    {
        return Some(ImageType::Heic);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_told_by_its_signature() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
        assert_eq!(sniff(&jpeg), Some(ImageType::Jpeg));
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png), Some(ImageType::Png));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        for brand in [
            "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1",
        ] {
            let mut b = b"\0\0\0\x18ftyp".to_vec();
            b.extend_from_slice(brand.as_bytes());
            b.extend_from_slice(b"\0\0\0\0");
            assert_eq!(sniff(&b), Some(ImageType::Heic), "{brand}");
        }
        assert_eq!(ImageType::Heic.content_type(), "image/heic");
        assert_eq!(ImageType::Jpeg.content_type(), "image/jpeg");
    }

    #[test]
    fn anything_else_is_refused_whatever_it_claims() {
        // a text file named photo.jpg and sent as image/jpeg
        assert_eq!(sniff(b"this is not a photo, honest"), None);
        assert_eq!(sniff(b""), None);
        // almost a JPEG, almost a PNG
        assert_eq!(sniff(&[0xFF, 0xD8]), None);
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
        // RIFF but a WAV, an ftyp but an MP4
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }
}

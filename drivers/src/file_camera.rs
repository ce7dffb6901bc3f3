//! A camera that plays image files (`file:///path/a.png` or a folder of PNG/JPEG files): the
//! camera for recorded hall frames, and a way to check QR decoding on real photos
//! with the kiosk's own camera loop.

use std::path::{Path, PathBuf};

use crate::camera::{Camera, CameraError, Frame, Still, encode_jpeg};
use crate::image::{Image, decode_image};

/// Plays the images of a file or a folder (sorted by name), one per grab, round and round.
pub struct FileCamera {
    root: PathBuf,
    files: Vec<PathBuf>,
    next: usize,
    last: Option<Image>,
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

impl FileCamera {
    pub fn open(path: &Path) -> Result<Self, CameraError> {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CameraError::Io(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_image(p))
                .collect();
            files.sort();
            files
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(CameraError::NotFound(format!(
                "{} does not exist",
                path.display()
            )));
        };
        if files.is_empty() {
            return Err(CameraError::NotFound(format!(
                "no PNG or JPEG images in {}",
                path.display()
            )));
        }
        Ok(Self {
            root: path.to_path_buf(),
            files,
            next: 0,
            last: None,
        })
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    fn next_image(&mut self) -> Result<Image, CameraError> {
        if !self.root.exists() {
            return Err(CameraError::NotFound(format!(
                "{} went away",
                self.root.display()
            )));
        }
        let path = &self.files[self.next % self.files.len()];
        self.next = (self.next + 1) % self.files.len();
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                CameraError::NotFound(format!("{} went away", path.display()))
            }
            _ => CameraError::Io(format!("{}: {e}", path.display())),
        })?;
        decode_image(&bytes).map_err(|e| CameraError::BadFrame(format!("{}: {e}", path.display())))
    }
}

impl Camera for FileCamera {
    fn grab(&mut self) -> Result<Frame, CameraError> {
        let img = self.next_image()?;
        let frame = img.to_grey();
        self.last = Some(img);
        Ok(frame)
    }

    fn capture_still(&mut self) -> Result<Still, CameraError> {
        let img = match self.last.take() {
            Some(img) => img,
            None => self.next_image()?,
        };
        let rgb = img.to_rgb();
        let jpeg = encode_jpeg(img.width, img.height, &rgb, 90)?;
        Ok(Still {
            width: img.width,
            height: img.height,
            rgb,
            jpeg,
        })
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::camera::decode_qr;
    use crate::image::encode_png_grey;
    use crate::sim::camera::qr_frame;

    #[test]
    fn plays_a_folder_of_frames_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("b.png", "SECOND"), ("a.png", "FIRST")] {
            let png = encode_png_grey(&qr_frame(text, 320, 240, false)).unwrap();
            std::fs::write(dir.path().join(name), png).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"not an image").unwrap();
        let mut cam = FileCamera::open(dir.path()).unwrap();
        assert_eq!(cam.files().len(), 2);
        let texts: Vec<Option<String>> = (0..3).map(|_| decode_qr(&cam.grab().unwrap())).collect();
        assert_eq!(
            texts,
            [
                Some("FIRST".into()),
                Some("SECOND".into()),
                Some("FIRST".into())
            ]
        );
        let still = cam.capture_still().unwrap();
        assert_eq!((still.width, still.height), (320, 240));
        assert_eq!(&still.jpeg[..2], &[0xFF, 0xD8]);
        // Unplugged: the folder goes away.
        let path = dir.path().to_path_buf();
        drop(dir);
        let e = cam.grab().unwrap_err();
        assert!(matches!(e, CameraError::NotFound(_)), "{e}");
        assert!(FileCamera::open(&path).is_err());
    }

    #[test]
    fn a_folder_without_images_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            FileCamera::open(dir.path()),
            Err(CameraError::NotFound(_))
        ));
    }
}

//! Headless rendering with Slint's software renderer: screenshots, benchmarks and the kiosk run
//! without a display (`hall-kiosk run --headless`), e.g. for end-to-end tests of the appliance.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slint::Rgb8Pixel;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

/// A Slint platform with one window drawn into memory.
pub struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    start: Instant,
    /// The event loop ends once this time has passed (None: it runs until the process ends).
    run_for: Option<Duration>,
    proxy: ProxyHandle,
}

type Callback = Box<dyn FnOnce() + Send>;

/// `slint::quit_event_loop` and `invoke_from_event_loop` for the headless loop.
#[derive(Default)]
struct Proxy {
    quit: AtomicBool,
    queue: Mutex<Vec<Callback>>,
}

#[derive(Clone, Default)]
struct ProxyHandle(Arc<Proxy>);

impl std::ops::Deref for ProxyHandle {
    type Target = Proxy;
    fn deref(&self) -> &Proxy {
        &self.0
    }
}

impl slint::platform::EventLoopProxy for ProxyHandle {
    fn quit_event_loop(&self) -> Result<(), slint::EventLoopError> {
        self.quit.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn invoke_from_event_loop(&self, event: Callback) -> Result<(), slint::EventLoopError> {
        self.queue
            .lock()
            .map_err(|_| slint::EventLoopError::EventLoopTerminated)?
            .push(event);
        Ok(())
    }
}

/// The window and its pixel buffer.
pub struct Screen {
    pub window: Rc<MinimalSoftwareWindow>,
    pub width: u32,
    pub height: u32,
    /// Made at the first [`Screen::draw`]: `run --headless` draws in its event loop instead and
    /// never needs a second frame's worth of memory.
    pixels: Vec<Rgb8Pixel>,
}

impl Screen {
    /// Draws the window if anything changed; `force` draws it whole. Returns whether it drew.
    pub fn draw(&mut self, force: bool) -> bool {
        if force {
            self.window.request_redraw();
        }
        let stride = self.width as usize;
        let len = stride * self.height as usize;
        if self.pixels.len() != len {
            self.pixels = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; len];
        }
        let pixels = &mut self.pixels;
        self.window.draw_if_needed(|renderer| {
            renderer.render(pixels, stride);
        })
    }

    pub fn write_png(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        // Row by row: no second copy of the whole frame in memory.
        let mut stream = enc.write_header()?.into_stream_writer()?;
        let mut row = Vec::with_capacity(self.width as usize * 3);
        for line in self.pixels.chunks(self.width as usize) {
            row.clear();
            row.extend(line.iter().flat_map(|p| [p.r, p.g, p.b]));
            std::io::Write::write_all(&mut stream, &row)?;
        }
        stream.finish()?;
        Ok(())
    }
}

/// Installs the headless platform for this thread's Slint and returns the screen to draw on.
/// Must be called before any component is created.
pub fn install(width: u32, height: u32, run_for: Option<Duration>) -> anyhow::Result<Screen> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    window.set_size(slint::PhysicalSize::new(width, height));
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
        start: Instant::now(),
        run_for,
        proxy: ProxyHandle::default(),
    }))
    .map_err(|e| anyhow::anyhow!("cannot set up headless rendering: {e}"))?;
    Ok(Screen {
        window,
        width,
        height,
        pixels: Vec::new(),
    })
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.start.elapsed()
    }

    fn new_event_loop_proxy(&self) -> Option<Box<dyn slint::platform::EventLoopProxy>> {
        Some(Box::new(self.proxy.clone()))
    }

    /// Runs timers and draws changed frames into memory until the time is up.
    fn run_event_loop(&self) -> Result<(), slint::PlatformError> {
        let size = self.window.size();
        let (w, h) = (size.width.max(1), size.height.max(1));
        let mut pixels = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; (w * h) as usize];
        let began = Instant::now();
        self.proxy.quit.store(false, Ordering::SeqCst);
        loop {
            let queued = match self.proxy.queue.lock() {
                Ok(mut q) => std::mem::take(&mut *q),
                Err(_) => Vec::new(),
            };
            for f in queued {
                f();
            }
            slint::platform::update_timers_and_animations();
            self.window.draw_if_needed(|renderer| {
                renderer.render(&mut pixels, w as usize);
            });
            if self.run_for.is_some_and(|d| began.elapsed() >= d)
                || self.proxy.quit.load(Ordering::SeqCst)
            {
                return Ok(());
            }
            let wait = slint::platform::duration_until_next_timer_update()
                .unwrap_or(Duration::from_millis(50))
                .min(Duration::from_millis(50));
            std::thread::sleep(wait);
        }
    }
}

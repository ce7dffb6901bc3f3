//! Raspberry Pi specifics through `rppal` (the `rpi` feature): which Pi this is, so the kiosk
//! can pick the rpi4 or rpi5 board profile by itself, and the header GPIO through the SoC's
//! registers (`/dev/gpiomem`), which sets pull-up/pull-down bias also on the older kernels
//! whose character device cannot. Other boards use the GPIO character device
//! ([`crate::gpio::CdevLines`]).

use rppal::gpio::{Gpio, InputPin as RpInput, Level, OutputPin as RpOutput};
use rppal::system::{DeviceInfo, Model};

use crate::board::{Bias, GpioPins, InputPin};
use crate::gpio::{GpioLines, Pin};

/// The board profile for a Raspberry Pi model, when the kiosk has one.
pub fn profile_for(model: Model) -> Option<&'static str> {
    match model {
        Model::RaspberryPi4B
        | Model::RaspberryPi400
        | Model::RaspberryPiComputeModule4
        | Model::RaspberryPiComputeModule4S => Some("rpi4"),
        Model::RaspberryPi5
        | Model::RaspberryPi500
        | Model::RaspberryPiComputeModule5
        | Model::RaspberryPiComputeModule5Lite => Some("rpi5"),
        _ => None,
    }
}

/// The Raspberry Pi this runs on, when it is one (`None` elsewhere).
pub fn detect() -> Option<Model> {
    DeviceInfo::new().ok().map(|d| d.model())
}

/// The board profile name for this machine when it is a supported Raspberry Pi.
pub fn detect_profile() -> Option<&'static str> {
    detect().and_then(profile_for)
}

/// The header lines of a Raspberry Pi (BCM numbers, as in the board profiles).
pub struct RppalLines {
    help: Option<(RpInput, bool)>,
    presence: Option<(RpInput, bool)>,
    light: Option<(RpOutput, bool)>,
}

fn err(e: rppal::gpio::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn bcm(line: u32) -> std::io::Result<u8> {
    u8::try_from(line)
        .ok()
        .filter(|l| *l < 28)
        .ok_or_else(|| std::io::Error::other(format!("GPIO line {line} is not on the header")))
}

fn input(gpio: &Gpio, p: &InputPin) -> std::io::Result<(RpInput, bool)> {
    let pin = gpio.get(bcm(p.line)?).map_err(err)?;
    let pin = match p.bias {
        Bias::PullUp => pin.into_input_pullup(),
        Bias::PullDown => pin.into_input_pulldown(),
        Bias::AsIs | Bias::Disabled => pin.into_input(),
    };
    Ok((pin, p.active_low))
}

impl RppalLines {
    pub fn open(pins: &GpioPins) -> std::io::Result<Self> {
        let gpio = Gpio::new().map_err(err)?;
        let help = pins
            .help_button
            .as_ref()
            .map(|p| input(&gpio, p))
            .transpose()?;
        let presence = pins
            .presence
            .as_ref()
            .map(|p| input(&gpio, p))
            .transpose()?;
        let light = match &pins.status_light {
            Some(p) => {
                let pin = gpio.get(bcm(p.line)?).map_err(err)?;
                // Off: low, or high for an active-low light.
                let out = if p.active_low {
                    pin.into_output_high()
                } else {
                    pin.into_output_low()
                };
                Some((out, p.active_low))
            }
            None => None,
        };
        Ok(Self {
            help,
            presence,
            light,
        })
    }
}

impl GpioLines for RppalLines {
    fn read(&mut self, pin: Pin) -> std::io::Result<bool> {
        let line = match pin {
            Pin::HelpButton => &self.help,
            Pin::Presence => &self.presence,
            Pin::StatusLight => return Ok(false),
        };
        Ok(line
            .as_ref()
            .is_some_and(|(p, active_low)| (p.read() == Level::High) != *active_low))
    }
    fn write(&mut self, pin: Pin, on: bool) -> std::io::Result<()> {
        if pin == Pin::StatusLight
            && let Some((out, active_low)) = self.light.as_mut()
        {
            if on != *active_low {
                out.set_high();
            } else {
                out.set_low();
            }
        }
        Ok(())
    }
    fn describe(&self) -> String {
        "Raspberry Pi GPIO (gpiomem)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_map_to_their_profiles() {
        assert_eq!(profile_for(Model::RaspberryPi4B), Some("rpi4"));
        assert_eq!(profile_for(Model::RaspberryPiComputeModule4), Some("rpi4"));
        assert_eq!(profile_for(Model::RaspberryPi5), Some("rpi5"));
        assert_eq!(profile_for(Model::RaspberryPi3B), None);
        // Each profile named exists among the built-in boards.
        for name in ["rpi4", "rpi5"] {
            assert!(crate::board::BoardProfile::builtin(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn lines_off_the_header_are_refused() {
        assert!(bcm(17).is_ok());
        assert!(bcm(28).is_err());
        assert!(bcm(600).is_err());
    }

    #[test]
    fn this_machine_is_detected_or_not_without_failing() {
        // On a Pi this names its model; elsewhere it is None. It never panics.
        let _ = detect_profile();
        if detect().is_none() {
            assert!(
                RppalLines::open(&GpioPins {
                    chip: "gpiochip0".into(),
                    help_button: None,
                    status_light: None,
                    presence: None,
                })
                .is_err()
            );
        }
    }
}

//! The connection methods and, for each, the headers its page of the specification requires.

use std::fmt;

use crate::header::Header as H;

/// How an application connects to HMRC, as sent in Gov-Client-Connection-Method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionMethod {
    WebAppViaServer,
    BatchProcessDirect,
    DesktopAppDirect,
    DesktopAppViaServer,
    MobileAppDirect,
    MobileAppViaServer,
    OtherDirect,
    OtherViaServer,
}

impl ConnectionMethod {
    pub const ALL: [ConnectionMethod; 8] = [
        ConnectionMethod::WebAppViaServer,
        ConnectionMethod::BatchProcessDirect,
        ConnectionMethod::DesktopAppDirect,
        ConnectionMethod::DesktopAppViaServer,
        ConnectionMethod::MobileAppDirect,
        ConnectionMethod::MobileAppViaServer,
        ConnectionMethod::OtherDirect,
        ConnectionMethod::OtherViaServer,
    ];

    /// The value of Gov-Client-Connection-Method for this method.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionMethod::WebAppViaServer => "WEB_APP_VIA_SERVER",
            ConnectionMethod::BatchProcessDirect => "BATCH_PROCESS_DIRECT",
            ConnectionMethod::DesktopAppDirect => "DESKTOP_APP_DIRECT",
            ConnectionMethod::DesktopAppViaServer => "DESKTOP_APP_VIA_SERVER",
            ConnectionMethod::MobileAppDirect => "MOBILE_APP_DIRECT",
            ConnectionMethod::MobileAppViaServer => "MOBILE_APP_VIA_SERVER",
            ConnectionMethod::OtherDirect => "OTHER_DIRECT",
            ConnectionMethod::OtherViaServer => "OTHER_VIA_SERVER",
        }
    }

    /// The method whose header value is exactly `value`: the specification prints the values in
    /// capitals, and a near miss is refused rather than guessed.
    pub fn from_header_value(value: &str) -> Option<ConnectionMethod> {
        ConnectionMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == value)
    }

    /// The method's page of the specification.
    pub fn page(self) -> &'static str {
        match self {
            ConnectionMethod::WebAppViaServer => {
                "source/connection-method/web-app-via-server/index.html.md.erb"
            }
            ConnectionMethod::BatchProcessDirect => {
                "source/connection-method/batch-process-direct/index.html.md.erb"
            }
            ConnectionMethod::DesktopAppDirect => {
                "source/connection-method/desktop-app-direct/index.html.md.erb"
            }
            ConnectionMethod::DesktopAppViaServer => {
                "source/connection-method/desktop-app-via-server/index.html.md.erb"
            }
            ConnectionMethod::MobileAppDirect => {
                "source/connection-method/mobile-app-direct/index.html.md.erb"
            }
            ConnectionMethod::MobileAppViaServer => {
                "source/connection-method/mobile-app-via-server/index.html.md.erb"
            }
            ConnectionMethod::OtherDirect => {
                "source/connection-method/other-direct/index.html.md.erb"
            }
            ConnectionMethod::OtherViaServer => {
                "source/connection-method/other-via-server/index.html.md.erb"
            }
        }
    }

    /// The headers the method's page lists, in its order. The page says "You must submit data
    /// for all of these headers"; a test checks this list against a table of the partials the
    /// page includes.
    pub fn required_headers(self) -> &'static [H] {
        match self {
            ConnectionMethod::WebAppViaServer => &[
                H::ConnectionMethod,
                H::BrowserJsUserAgent,
                H::DeviceId,
                H::MultiFactor,
                H::PublicIp,
                H::PublicIpTimestamp,
                H::PublicPort,
                H::Screens,
                H::Timezone,
                H::UserIds,
                H::WindowSize,
                H::VendorForwarded,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorPublicIp,
                H::VendorVersion,
            ],
            ConnectionMethod::BatchProcessDirect => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MacAddresses,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorVersion,
            ],
            ConnectionMethod::DesktopAppDirect => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MacAddresses,
                H::MultiFactor,
                H::Screens,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::WindowSize,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorVersion,
            ],
            ConnectionMethod::DesktopAppViaServer => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MacAddresses,
                H::MultiFactor,
                H::PublicIp,
                H::PublicIpTimestamp,
                H::PublicPort,
                H::Screens,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::WindowSize,
                H::VendorForwarded,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorPublicIp,
                H::VendorVersion,
            ],
            ConnectionMethod::MobileAppDirect => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MultiFactor,
                H::Screens,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::WindowSize,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorVersion,
            ],
            ConnectionMethod::MobileAppViaServer => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MultiFactor,
                H::PublicIp,
                H::PublicIpTimestamp,
                H::PublicPort,
                H::Screens,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::WindowSize,
                H::VendorForwarded,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorPublicIp,
                H::VendorVersion,
            ],
            ConnectionMethod::OtherDirect => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MacAddresses,
                H::MultiFactor,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorVersion,
            ],
            ConnectionMethod::OtherViaServer => &[
                H::ConnectionMethod,
                H::DeviceId,
                H::LocalIps,
                H::LocalIpsTimestamp,
                H::MacAddresses,
                H::MultiFactor,
                H::PublicIp,
                H::PublicIpTimestamp,
                H::PublicPort,
                H::Timezone,
                H::UserAgent,
                H::UserIds,
                H::VendorForwarded,
                H::VendorLicenseIds,
                H::VendorProductName,
                H::VendorPublicIp,
                H::VendorVersion,
            ],
        }
    }

    /// Whether Gov-Client-User-IDs should carry the `os` field: the partial leaves that bullet
    /// out for web and mobile applications.
    pub(crate) fn asks_for_os_user(self) -> bool {
        !matches!(
            self,
            ConnectionMethod::WebAppViaServer
                | ConnectionMethod::MobileAppDirect
                | ConnectionMethod::MobileAppViaServer
        )
    }

    /// Whether Gov-Vendor-Version needs a pair for the server and one for the client.
    pub(crate) fn requires_multiple_versions(self) -> bool {
        matches!(
            self,
            ConnectionMethod::DesktopAppViaServer
                | ConnectionMethod::MobileAppViaServer
                | ConnectionMethod::OtherViaServer
        )
    }
}

impl fmt::Display for ConnectionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

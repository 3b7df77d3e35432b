//! The fraud prevention headers the specification defines, each with the partial page that
//! states its rules.

/// A header defined by one of the specification's partials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Header {
    ConnectionMethod,
    BrowserJsUserAgent,
    DeviceId,
    LocalIps,
    LocalIpsTimestamp,
    MacAddresses,
    MultiFactor,
    PublicIp,
    PublicIpTimestamp,
    PublicPort,
    Screens,
    Timezone,
    UserAgent,
    UserIds,
    WindowSize,
    VendorForwarded,
    VendorLicenseIds,
    VendorProductName,
    VendorPublicIp,
    VendorVersion,
}

impl Header {
    pub const ALL: [Header; 20] = [
        Header::ConnectionMethod,
        Header::BrowserJsUserAgent,
        Header::DeviceId,
        Header::LocalIps,
        Header::LocalIpsTimestamp,
        Header::MacAddresses,
        Header::MultiFactor,
        Header::PublicIp,
        Header::PublicIpTimestamp,
        Header::PublicPort,
        Header::Screens,
        Header::Timezone,
        Header::UserAgent,
        Header::UserIds,
        Header::WindowSize,
        Header::VendorForwarded,
        Header::VendorLicenseIds,
        Header::VendorProductName,
        Header::VendorPublicIp,
        Header::VendorVersion,
    ];

    /// The header's name as the specification spells it.
    pub fn name(self) -> &'static str {
        match self {
            Header::ConnectionMethod => "Gov-Client-Connection-Method",
            Header::BrowserJsUserAgent => "Gov-Client-Browser-JS-User-Agent",
            Header::DeviceId => "Gov-Client-Device-ID",
            Header::LocalIps => "Gov-Client-Local-IPs",
            Header::LocalIpsTimestamp => "Gov-Client-Local-IPs-Timestamp",
            Header::MacAddresses => "Gov-Client-MAC-Addresses",
            Header::MultiFactor => "Gov-Client-Multi-Factor",
            Header::PublicIp => "Gov-Client-Public-IP",
            Header::PublicIpTimestamp => "Gov-Client-Public-IP-Timestamp",
            Header::PublicPort => "Gov-Client-Public-Port",
            Header::Screens => "Gov-Client-Screens",
            Header::Timezone => "Gov-Client-Timezone",
            Header::UserAgent => "Gov-Client-User-Agent",
            Header::UserIds => "Gov-Client-User-IDs",
            Header::WindowSize => "Gov-Client-Window-Size",
            Header::VendorForwarded => "Gov-Vendor-Forwarded",
            Header::VendorLicenseIds => "Gov-Vendor-License-IDs",
            Header::VendorProductName => "Gov-Vendor-Product-Name",
            Header::VendorPublicIp => "Gov-Vendor-Public-IP",
            Header::VendorVersion => "Gov-Vendor-Version",
        }
    }

    /// The header named `name`; HTTP header names are case-insensitive.
    pub fn from_name(name: &str) -> Option<Header> {
        Header::ALL
            .into_iter()
            .find(|header| header.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The partial page of the specification that states the header's rules.
    pub fn partial(self) -> &'static str {
        match self {
            Header::ConnectionMethod => {
                "source/connection-method/partials/gov-client-connection-method.erb"
            }
            Header::BrowserJsUserAgent => {
                "source/connection-method/partials/gov-client-browser-js-user-agent.erb"
            }
            Header::DeviceId => "source/connection-method/partials/gov-client-device-id.erb",
            Header::LocalIps => "source/connection-method/partials/gov-client-local-ips.erb",
            Header::LocalIpsTimestamp => {
                "source/connection-method/partials/gov-client-local-ips-timestamp.erb"
            }
            Header::MacAddresses => {
                "source/connection-method/partials/gov-client-mac-addresses.erb"
            }
            Header::MultiFactor => "source/connection-method/partials/gov-client-multi-factor.erb",
            Header::PublicIp => "source/connection-method/partials/gov-client-public-ip.erb",
            Header::PublicIpTimestamp => {
                "source/connection-method/partials/gov-client-public-ip-timestamp.erb"
            }
            Header::PublicPort => "source/connection-method/partials/gov-client-public-port.erb",
            Header::Screens => "source/connection-method/partials/gov-client-screens.erb",
            Header::Timezone => "source/connection-method/partials/gov-client-timezone.erb",
            Header::UserAgent => "source/connection-method/partials/gov-client-user-agent.erb",
            Header::UserIds => "source/connection-method/partials/gov-client-user-ids.erb",
            Header::WindowSize => "source/connection-method/partials/gov-client-window-size.erb",
            Header::VendorForwarded => "source/connection-method/partials/gov-vendor-forwarded.erb",
            Header::VendorLicenseIds => {
                "source/connection-method/partials/gov-vendor-license-ids.erb"
            }
            Header::VendorProductName => {
                "source/connection-method/partials/gov-vendor-product-name.erb"
            }
            Header::VendorPublicIp => "source/connection-method/partials/gov-vendor-public-ip.erb",
            Header::VendorVersion => "source/connection-method/partials/gov-vendor-version.erb",
        }
    }

    /// Whether the partial says the value may be impossible to collect in an ordinary case
    /// (private network, no MFA, no licences), which explains an empty value.
    pub(crate) fn partial_expects_missing_data(self) -> bool {
        matches!(
            self,
            Header::MultiFactor
                | Header::PublicIp
                | Header::PublicPort
                | Header::VendorPublicIp
                | Header::VendorLicenseIds
        )
    }
}

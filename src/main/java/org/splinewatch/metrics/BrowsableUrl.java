package org.splinewatch.metrics;

import java.util.Optional;

/**
 * The address printed for an HTTP server: {@code http://0.0.0.0:9464/} is where a server bound to every interface
 * listens, not an address a browser can open. A wildcard bind host is printed as loopback (or as {@code
 * splinewatch.metrics.advertise-host} where one is set), with a line saying that it listens on every interface.
 */
public final class BrowsableUrl {
  private BrowsableUrl() {
  }

  /** {@code host} without the brackets of an IPv6 literal as URLs write it ({@code [::1]}: {@code ::1}). */
  public static String unbracketed(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  /** Whether {@code host} binds every interface ({@code 0.0.0.0}, {@code ::}). */
  public static boolean wildcard(String host) {
    String h = unbracketed(host.strip());
    return h.isEmpty() || h.equals("0.0.0.0") || h.equals("::") || h.equals("::0") || h.equals("0:0:0:0:0:0:0:0");
  }

  /**
   * Whether {@code address} is this machine's: a wildcard, loopback, or an address of one of its interfaces.
   *
   * @throws java.net.SocketException when the interfaces cannot be listed
   */
  public static boolean ofThisMachine(java.net.InetAddress address) throws java.net.SocketException {
    return address.isAnyLocalAddress() || address.isLoopbackAddress()
        || java.net.NetworkInterface.getByInetAddress(address) != null;
  }

  /**
   * Why {@code option}'s {@code host} cannot be listened on here, checked before anything is started or written, or
   * empty: a name that does not resolve, or an address of no interface of this machine. Wildcards, loopback and this
   * machine's addresses pass; binding still reports what this cannot see. {@code examples} ends each message, e.g.
   * {@code "e.g. 127.0.0.1 or 0.0.0.0"}.
   */
  public static Optional<String> notAnAddressHere(String option, String host, String examples) {
    java.net.InetAddress address;
    try {
      address = java.net.InetAddress.getByName(unbracketed(host));
    } catch (java.net.UnknownHostException e) {
      return Optional.of(option + " " + host + " cannot be resolved; expected an address of this machine (" + examples
          + ")");
    }
    try {
      if (ofThisMachine(address)) {
        return Optional.empty();
      }
    } catch (java.net.SocketException e) {
      return Optional.empty(); // the interfaces cannot be listed: binding will say
    }
    return Optional.of(option + " " + host + " is not an address of this machine; expected one of its addresses ("
        + examples + ")");
  }

  /** The host to open: {@code advertiseHost} where set, loopback for a wildcard {@code bindHost}, else bindHost. */
  public static String host(String bindHost, String advertiseHost) {
    if (advertiseHost != null && !advertiseHost.isBlank()) {
      return advertiseHost.strip();
    }
    return wildcard(bindHost) ? "127.0.0.1" : bindHost;
  }

  /** {@code http://HOST:PORT} for {@link #host}; an IPv6 literal in brackets. */
  public static String base(String bindHost, String advertiseHost, int port) {
    String h = host(bindHost, advertiseHost);
    return "http://" + (h.contains(":") && !h.startsWith("[") ? "[" + h + "]" : h) + ":" + port;
  }

  /** {@link #base} without an advertised host. */
  public static String base(String bindHost, int port) {
    return base(bindHost, "", port);
  }

  /**
   * For a wildcard bind host, the console line that says so (indented as the lines around it); empty otherwise.
   */
  public static Optional<String> listening(String bindHost, String advertiseHost, int port) {
    if (!wildcard(bindHost)) {
      return Optional.empty();
    }
    String printed = host(bindHost, advertiseHost);
    return Optional.of("  listening on all interfaces (" + (bindHost.isBlank() ? "0.0.0.0" : bindHost.strip()) + ":"
        + port + "); " + (printed.equals("127.0.0.1") ? "127.0.0.1 is for this machine, from another one use this"
        + " machine's address" : "printed as its advertise-host " + printed));
  }
}

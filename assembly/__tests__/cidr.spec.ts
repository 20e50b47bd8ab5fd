import { Cidr, IpAddr, parseCidr, parseIp, parseSocketAddress } from "../lib/cidr";

function ip(s: string): IpAddr {
  const a = parseIp(s);
  expect(a).not.toBeNull();
  return a!;
}

function cidr(s: string): Cidr {
  const c = parseCidr(s);
  expect(c).not.toBeNull();
  return c!;
}

describe("parseIp", () => {
  it("reads IPv4", () => {
    const a = ip("10.1.2.3");
    expect(a.v6).toBe(false);
    expect(a.lo).toBe(0x0a010203);
    expect(a.hi).toBe(0);
    expect(ip("0.0.0.0").lo).toBe(0);
    expect(ip("255.255.255.255").lo).toBe(0xffffffff);
  });

  it("reads IPv6 forms", () => {
    const a = ip("2001:db8::1");
    expect(a.v6).toBe(true);
    expect(a.hi).toBe(0x20010db800000000);
    expect(a.lo).toBe(1);
    expect(ip("::").v6).toBe(true);
    expect(ip("::1").lo).toBe(1);
    expect(ip("1::").hi).toBe(0x0001000000000000);
    expect(ip("1:2:3:4:5:6:7:8").toString()).toBe("1:2:3:4:5:6:7:8");
    expect(ip("2001:DB8:0:0:0:0:0:1").toString()).toBe("2001:db8::1");
    expect(ip("fe80:0:0:0:1::").toString()).toBe("fe80::1:0:0:0"); // first of equal runs
    expect(ip("1:0:0:2:0:0:0:3").toString()).toBe("1:0:0:2::3"); // longest run
    expect(ip("1:0:2:3:4:5:6:7").toString()).toBe("1:0:2:3:4:5:6:7"); // no "::" for one group
    expect(ip("64:ff9b::10.1.2.3").toString()).toBe("64:ff9b::a01:203");
  });

  it("treats IPv4-mapped IPv6 as IPv4", () => {
    const a = ip("::ffff:10.1.2.3");
    expect(a.v6).toBe(false);
    expect(a.lo).toBe(0x0a010203);
    expect(ip("::ffff:a01:203").toString()).toBe("10.1.2.3");
  });

  it("rejects malformed addresses", () => {
    expect(parseIp("")).toBeNull();
    expect(parseIp("10.1.2")).toBeNull();
    expect(parseIp("10.1.2.3.4")).toBeNull();
    expect(parseIp("10.1.2.256")).toBeNull();
    expect(parseIp("010.1.2.3")).toBeNull();
    expect(parseIp("10.1.2.3 ")).toBeNull();
    expect(parseIp("10..2.3")).toBeNull();
    expect(parseIp("1.2.3.-4")).toBeNull();
    expect(parseIp("fe80::1%eth0")).toBeNull();
    expect(parseIp("1::2::3")).toBeNull();
    expect(parseIp(":1")).toBeNull();
    expect(parseIp("1:")).toBeNull();
    expect(parseIp(":::")).toBeNull();
    expect(parseIp("12345::")).toBeNull();
    expect(parseIp("1:2:3:4:5:6:7:8:9")).toBeNull();
    expect(parseIp("1:2:3:4:5:6:7")).toBeNull();
    expect(parseIp("1::2:3:4:5:6:7:8")).toBeNull();
    expect(parseIp("::ffff:1.2.3")).toBeNull();
    expect(parseIp("1.2.3.4::")).toBeNull();
    expect(parseIp("[::1]")).toBeNull();
    expect(parseIp("g::1")).toBeNull();
    expect(parseIp("1".repeat(70000))).toBeNull();
  });
});

describe("parseSocketAddress", () => {
  it("reads Envoy source.address forms", () => {
    expect(parseSocketAddress("10.1.2.3:51000")!.toString()).toBe("10.1.2.3");
    const v6 = parseSocketAddress("[2001:db8::1]:443")!;
    expect(v6.v6).toBe(true);
    expect(v6.toString()).toBe("2001:db8::1");
    expect(parseSocketAddress("[::ffff:10.1.2.3]:80")!.v6).toBe(false);
    expect(parseSocketAddress("10.1.2.3")!.toString()).toBe("10.1.2.3");
    expect(parseSocketAddress("2001:db8::1")!.toString()).toBe("2001:db8::1");
    expect(parseSocketAddress("[::1]")!.toString()).toBe("::1");
  });

  it("rejects bad ports and non-IP addresses", () => {
    expect(parseSocketAddress("")).toBeNull();
    expect(parseSocketAddress("10.1.2.3:")).toBeNull();
    expect(parseSocketAddress("10.1.2.3:65536")).toBeNull();
    expect(parseSocketAddress("10.1.2.3:x")).toBeNull();
    expect(parseSocketAddress("[2001:db8::1]443")).toBeNull();
    expect(parseSocketAddress("[2001:db8::1")).toBeNull();
    expect(parseSocketAddress("/var/run/envoy.sock")).toBeNull();
    expect(parseSocketAddress("host.example:80")).toBeNull();
  });
});

describe("parseCidr and contains", () => {
  it("matches IPv4 ranges", () => {
    const c = cidr("10.0.0.0/8");
    expect(c.contains(ip("10.255.1.2"))).toBe(true);
    expect(c.contains(ip("11.0.0.1"))).toBe(false);
    expect(c.contains(ip("2001:db8::1"))).toBe(false);
    expect(c.contains(ip("::ffff:10.9.9.9"))).toBe(true);
    expect(cidr("0.0.0.0/0").contains(ip("203.0.113.7"))).toBe(true);
    expect(cidr("203.0.113.7").contains(ip("203.0.113.7"))).toBe(true);
    expect(cidr("203.0.113.7").contains(ip("203.0.113.8"))).toBe(false);
    expect(cidr("192.168.1.128/25").contains(ip("192.168.1.200"))).toBe(true);
    expect(cidr("192.168.1.128/25").contains(ip("192.168.1.100"))).toBe(false);
  });

  it("matches IPv6 ranges", () => {
    const c = cidr("2001:db8::/32");
    expect(c.contains(ip("2001:db8:ffff::1"))).toBe(true);
    expect(c.contains(ip("2001:db9::1"))).toBe(false);
    expect(c.contains(ip("10.0.0.1"))).toBe(false);
    expect(cidr("::/0").contains(ip("10.0.0.1"))).toBe(true);
    expect(cidr("2001:db8::1").contains(ip("2001:db8::1"))).toBe(true);
    expect(cidr("2001:db8::1/128").contains(ip("2001:db8::2"))).toBe(false);
    expect(cidr("2001:db8:0:0:8000::/65").contains(ip("2001:db8::8000:0:0:1"))).toBe(true);
    expect(cidr("2001:db8:0:0:8000::/65").contains(ip("2001:db8::1"))).toBe(false);
  });

  it("clears host bits and prints the canonical form", () => {
    expect(cidr("10.1.2.3/8").toString()).toBe("10.0.0.0/8");
    expect(cidr("10.1.2.3").toString()).toBe("10.1.2.3/32");
    expect(cidr("2001:db8::1/32").toString()).toBe("2001:db8::/32");
    expect(cidr("::1").toString()).toBe("::1/128");
    expect(cidr("0.0.0.0/0").toString()).toBe("0.0.0.0/0");
    expect(cidr("::ffff:10.1.0.0/112").toString()).toBe("10.1.0.0/16");
  });

  it("rejects bad prefixes and addresses", () => {
    expect(parseCidr("")).toBeNull();
    expect(parseCidr("/8")).toBeNull();
    expect(parseCidr("10.0.0.0/")).toBeNull();
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(parseCidr("10.0.0.0/-1")).toBeNull();
    expect(parseCidr("10.0.0.0/08")).toBeNull();
    expect(parseCidr("10.0.0.0/8/8")).toBeNull();
    expect(parseCidr("10.0.0.0/ 8")).toBeNull();
    expect(parseCidr("2001:db8::/129")).toBeNull();
    expect(parseCidr("2001:db8::/1000")).toBeNull();
    expect(parseCidr("10.0.0/8")).toBeNull();
    expect(parseCidr("example.com/8")).toBeNull();
    expect(parseCidr("fe80::1%eth0/64")).toBeNull();
  });
});

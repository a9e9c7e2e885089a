#!/usr/bin/perl
# Writes a small MaxMind-format database (MMDB) for tests, in the layout of GeoIP2/GeoLite2
# City records as far as steer reads them: location/latitude, location/longitude,
# country/iso_code, continent/code. Debian ships no current MMDB, so tests build their own.
#
#   make_mmdb.pl [--ip-version 4|6] OUT.mmdb < SPEC
#
# SPEC: one network a line, "CIDR key=value ...", keys lat, lon, country, continent (any may
# be left out: a record without lat/lon is a record without coordinates); '#' comments and
# blank lines are skipped. An IPv6 database (the default) aliases ::ffff:0:0/96 to its IPv4
# subtree, as MaxMind's own databases do. Reserved networks (documentation prefixes,
# RFC 1918) are kept, so tests can use the addresses set aside for examples.
use strict;
use warnings;

use Getopt::Long;
use MaxMind::DB::Writer::Tree;

my $ip_version = 6;
GetOptions('ip-version=i' => \$ip_version) or die "usage: $0 [--ip-version 4|6] OUT.mmdb\n";
my $out = shift @ARGV or die "usage: $0 [--ip-version 4|6] OUT.mmdb\n";

my %types = (
    location  => 'map',
    latitude  => 'double',
    longitude => 'double',
    country   => 'map',
    continent => 'map',
    iso_code  => 'utf8_string',
    code      => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => $ip_version,
    record_size              => 24,
    database_type            => 'steer-test-City',
    languages                => ['en'],
    description              => { en => 'steer test database' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    alias_ipv6_to_ipv4       => ($ip_version == 6 ? 1 : 0),
    remove_reserved_networks => 0,
);

my $line = 0;
while (my $text = <STDIN>) {
    $line++;
    $text =~ s/#.*//;
    next unless $text =~ /\S/;
    my ($cidr, @pairs) = split ' ', $text;
    my %record;
    for my $pair (@pairs) {
        my ($key, $value) = split /=/, $pair, 2;
        die "line $line: expected key=value, got '$pair'\n" unless defined $value;
        if ($key eq 'lat') {
            $record{location}{latitude} = $value + 0;
        } elsif ($key eq 'lon') {
            $record{location}{longitude} = $value + 0;
        } elsif ($key eq 'country') {
            $record{country}{iso_code} = $value;
        } elsif ($key eq 'continent') {
            $record{continent}{code} = $value;
        } else {
            die "line $line: unknown key '$key'\n";
        }
    }
    # A record needs at least one key; an empty map still marks the network as known.
    $record{country}{iso_code} //= 'ZZ' unless %record;
    $tree->insert_network($cidr, \%record);
}

open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";

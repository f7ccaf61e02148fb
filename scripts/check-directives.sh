#!/usr/bin/env bash
# check-directives.sh [TOP]: keeps mod_ingest's directives, their docs and
# their config structs consistent (in the spirit of mod_auth_openidc's
# configuration checks). TOP defaults to the checkout this script is in.
#
# Fails, naming every problem it finds, unless:
#  (a) every directive in an AP_INIT_* entry in mod_ingest/*.c has a
#      "## Name" section in docs/directives.md with **Syntax**, **Default**,
#      **Context** and **Example** lines, and no "## Ingest..." section
#      documents a directive that does not exist;
#  (b) every field of ingest_dir_conf and ingest_srv_conf
#      (mod_ingest/mod_ingest_config.h) is mentioned in the body of its merge
#      function (ingest_merge_dir_conf / ingest_merge_srv_conf in
#      mod_ingest/mod_ingest_config.c), except fields whose declaration
#      comment says "derived" and the allow-list below;
#  (c) every integer field of ingest_dir_conf that the merge compares with
#      INGEST_UNSET_INT (directly, or through a macro such as MERGE_INT) is
#      set to INGEST_UNSET_INT in ingest_create_dir_conf.
# Prints "check-directives: N directives, M fields: ok" on success.
set -euo pipefail

top=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# Fields that deliberately do not appear in their merge function, as
# "struct.field", each with the reason. Keep this list short: a field listed
# here that no longer exists is reported too, so the list cannot go stale.
ALLOW_UNMERGED=(
    # Set only by ingest_config_post_config(), after every server's config
    # has been merged: it records that the secret was generated at start-up,
    # so there is nothing to inherit at merge time.
    ingest_srv_conf.upload_secret_generated
)

die() { echo "check-directives: $*" >&2; exit 2; }
command -v perl >/dev/null 2>&1 || die "perl is required"

src_dir="$top/mod_ingest"
docs="$top/docs/directives.md"
hdr="$src_dir/mod_ingest_config.h"
cfg="$src_dir/mod_ingest_config.c"
shopt -s nullglob
sources=("$src_dir"/*.c)
shopt -u nullglob
[ ${#sources[@]} -gt 0 ] || die "no C sources in $src_dir"
for f in "$docs" "$hdr" "$cfg"; do
    [ -r "$f" ] || die "cannot read $f"
done

# The checks are done by one Perl program: parsing C declarations and
# function bodies is beyond grep. It prints one "error: ..." line per
# problem, then "summary N M".
out=$(ALLOW_UNMERGED="${ALLOW_UNMERGED[*]}" perl - "$docs" "$hdr" "$cfg" "${sources[@]}" <<'PERL'
use strict;
use warnings;

my ($docs, $hdr, $cfg, @sources) = @ARGV;
my @errors;
sub error { push @errors, join('', @_) }

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "cannot read $f: $!\n";
    local $/;
    return scalar <$fh>;
}

# C text with comments blanked out (string literals kept, so "http://x" and
# "/*" inside a string survive); newlines are kept so offsets stay useful.
sub strip_comments {
    my ($t) = @_;
    $t =~ s{("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|/\*.*?\*/|//[^\n]*}
           { defined $1 ? $1 : do { my $c = $&; $c =~ s/[^\n]/ /g; $c } }gse;
    return $t;
}

# The body (between the outer braces) of function $name's definition.
sub function_body {
    my ($text, $name) = @_;
    while ($text =~ /\b\Q$name\E\s*\(/g) {
        my $pos = pos($text);
        # skip the parameter list
        my $depth = 1;
        while ($depth && $pos < length $text) {
            my $ch = substr($text, $pos++, 1);
            $depth++ if $ch eq '(';
            $depth-- if $ch eq ')';
        }
        my $rest = substr($text, $pos);
        next unless $rest =~ /\A\s*\{/;    # a declaration or a call, not the definition
        my $start = $pos + $-[0] + length($&);
        $depth = 1;
        my $i = $start;
        while ($depth && $i < length $text) {
            my $ch = substr($text, $i++, 1);
            $depth++ if $ch eq '{';
            $depth-- if $ch eq '}';
        }
        return substr($text, $start, $i - $start - 1);
    }
    return undef;
}

# ---------------------------------------------------------------- (a)
my %directive;    # name => "file"
for my $f (@sources) {
    my $t = strip_comments(slurp($f));
    while ($t =~ /\bAP_INIT_[A-Z0-9_]+\s*\(\s*"([^"]+)"/g) {
        my $name = $1;
        (my $short = $f) =~ s{.*/}{};
        if ($directive{$name} && $directive{$name} ne $short) {
            error("directive $name is defined twice ($directive{$name}, $short)");
        }
        $directive{$name} = $short;
    }
}
error("no AP_INIT_* directives found in mod_ingest/*.c") unless %directive;

my (%section, @order, $current);
open my $dh, '<', $docs or die "cannot read $docs: $!\n";
my $in_fence = 0;
while (my $line = <$dh>) {
    if ($line =~ /^\s*(```|~~~)/) { $in_fence = !$in_fence; }
    if (!$in_fence && $line =~ /^##\s+(\S+)\s*$/ && $line !~ /^###/) {
        $current = $1;
        if (exists $section{$current}) {
            error("docs/directives.md has two \"## $current\" sections");
        }
        $section{$current} = '';
        push @order, $current;
        next;
    }
    if (!$in_fence && $line =~ /^#{1,2}\s/) {    # any other level-1/2 heading ends a section
        $current = undef;
        next;
    }
    $section{$current} .= $line if defined $current;
}
close $dh;

for my $name (sort keys %directive) {
    if (!exists $section{$name}) {
        error("directive $name ($directive{$name}) has no \"## $name\" section in docs/directives.md");
        next;
    }
    for my $label (qw(Syntax Default Context Example)) {
        if ($section{$name} !~ /^\*\*$label:?\*\*/m) {
            error("docs/directives.md: section \"## $name\" has no **$label** line");
        }
    }
}
for my $name (@order) {
    if ($name =~ /^Ingest/ && !exists $directive{$name}) {
        error("docs/directives.md documents \"## $name\", but no AP_INIT_* entry defines it");
    }
}

# ---------------------------------------------------------------- (b), (c)
my $hdr_raw = slurp($hdr);
my $cfg_text = strip_comments(slurp($cfg));

# Fields of "typedef struct { ... } NAME;" as [name, type, comment].
sub struct_fields {
    my ($struct) = @_;
    $hdr_raw =~ /typedef\s+struct\s*(?:\w+\s*)?\{([^{}]*)\}\s*\Q$struct\E\s*;/s
        or return;
    my $body = $1;
    my @fields;
    my $pending_comment = '';
    # Walk the body statement by statement, keeping each comment with the
    # declaration it follows on the same line, or precedes.
    while ($body =~ /\G\s*(?:(\/\*.*?\*\/|\/\/[^\n]*)|([^;\/]+);([ \t]*(?:\/\*.*?\*\/|\/\/[^\n]*))?)/gcs) {
        if (defined $1) {
            $pending_comment .= " $1";
            next;
        }
        my ($decl, $trailing) = ($2, $3 // '');
        my $comment = "$pending_comment $trailing";
        $pending_comment = '';
        $decl =~ s/\s+/ /g;
        $decl =~ s/^\s+|\s+$//g;
        # "const char *a, *b[4]" -> base type "const char", names a and b
        my ($base, $rest) = $decl =~ /^((?:(?:const|volatile|unsigned|signed|struct|enum)\s+)*[A-Za-z_]\w*)\s*(.*)$/
            or next;
        for my $d (split /\s*,\s*/, $rest) {
            my ($stars, $name) = $d =~ /^(\**)\s*(?:const\s+)?([A-Za-z_]\w*)/ or next;
            push @fields, [$name, $stars ? "$base *" : $base, $comment];
        }
    }
    return @fields;
}

my %allow = map { $_ => 1 } grep { length } split /\s+/, ($ENV{ALLOW_UNMERGED} // '');
my %allow_used;
my %int_type = map { $_ => 1 } qw(int long short apr_off_t apr_int16_t apr_int32_t apr_int64_t
    apr_size_t apr_ssize_t apr_time_t apr_interval_time_t);
my $nfields = 0;

# Macros whose expansion compares against INGEST_UNSET_INT, e.g. MERGE_INT(f).
my %unset_macro;
while ($cfg_text =~ /^[ \t]*#\s*define\s+(\w+)\s*\(\s*(\w+)\s*\)(.*?)(?<!\\)\n/gms) {
    my ($macro, $param, $def) = ($1, $2, $3);
    $unset_macro{$macro} = 1 if $def =~ /INGEST_UNSET_INT/ && $def =~ /\b\Q$param\E\b/;
}

for my $pair (['ingest_dir_conf', 'ingest_merge_dir_conf', 'ingest_create_dir_conf'],
              ['ingest_srv_conf', 'ingest_merge_srv_conf', undef]) {
    my ($struct, $merge_fn, $create_fn) = @$pair;
    my @fields = struct_fields($struct);
    if (!@fields) {
        error("cannot find the fields of struct $struct in mod_ingest/mod_ingest_config.h");
        next;
    }
    $nfields += @fields;
    my $merge = function_body($cfg_text, $merge_fn);
    if (!defined $merge) {
        error("cannot find the body of $merge_fn() in mod_ingest/mod_ingest_config.c");
        next;
    }
    my %in_struct;
    for my $f (@fields) {
        my ($name, $type, $comment) = @$f;
        $in_struct{$name} = 1;
        next if $comment =~ /\bderived\b/i;
        if ($allow{"$struct.$name"}) {
            $allow_used{"$struct.$name"} = 1;
            next;
        }
        if ($merge !~ /\b\Q$name\E\b/) {
            error("$struct.$name is not mentioned in $merge_fn(): a <Location> or virtual host "
                  . "would lose the value it inherits (merge it, or say \"derived\" in its comment)");
        }
    }

    next unless defined $create_fn;
    # (c): integer fields the merge compares with INGEST_UNSET_INT ...
    my %compared;
    for my $f (@fields) {
        my ($name, $type) = @$f;
        next unless $int_type{$type};
        my $direct = $merge =~ /(?:->|\.)\Q$name\E\s*[!=]=\s*INGEST_UNSET_INT\b/
                  || $merge =~ /\bINGEST_UNSET_INT\s*[!=]=\s*\w+\s*(?:->|\.)\s*\Q$name\E\b/;
        my $via_macro = grep { $merge =~ /\b\Q$_\E\s*\(\s*\Q$name\E\s*\)/ } keys %unset_macro;
        $compared{$name} = 1 if $direct || $via_macro;
    }
    # ... must start as INGEST_UNSET_INT in the create function.
    my $create = function_body($cfg_text, $create_fn);
    if (!defined $create) {
        error("cannot find the body of $create_fn() in mod_ingest/mod_ingest_config.c");
        next;
    }
    my %initialised;
    for my $stmt (split /;/, $create) {
        next unless $stmt =~ /=\s*INGEST_UNSET_INT\s*$/s;
        $initialised{$1} = 1 while $stmt =~ /(?:->|\.)\s*(\w+)\s*=(?!=)/g;
    }
    for my $name (sort keys %compared) {
        if (!$initialised{$name}) {
            error("$struct.$name is compared with INGEST_UNSET_INT in $merge_fn() but "
                  . "$create_fn() does not set it to INGEST_UNSET_INT (0 would read as \"set to 0\")");
        }
    }
}

for my $entry (sort keys %allow) {
    next if $allow_used{$entry};
    error("allow-list entry $entry in scripts/check-directives.sh names no field (remove it)");
}

print "error: $_\n" for @errors;
printf "summary %d %d\n", scalar(keys %directive), $nfields;
PERL
) || die "the checker itself failed"

status=0
while IFS= read -r line; do
    case "$line" in
    error:*)
        echo "check-directives: ${line#error: }" >&2
        status=1
        ;;
    summary\ *)
        read -r _ ndirectives nfields <<<"$line"
        ;;
    esac
done <<<"$out"

if [ "$status" -ne 0 ]; then
    echo "check-directives: FAILED" >&2
    exit 1
fi
echo "check-directives: ${ndirectives} directives, ${nfields} fields: ok"

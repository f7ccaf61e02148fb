#!/usr/bin/perl
# GET /api/ingest/jobs by keyset cursor: walking every page with next_cursor
# answers exactly the jobs (and the order) of the offset walk, with any
# filter, across jobs that share a created_at; a cursor that is not one is a
# 422 naming it; another tenant's cursor shows only the caller's jobs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MIME::Base64 qw(encode_base64url decode_base64url);
use Test::More;
use IngestTest qw(problem_ok);

my $t = IngestTest->new;
my $alice = $t->token('acme', 'alice');
my $bob = $t->token('acme', 'bob');
my $eve = $t->token('other', 'eve');

# 23 jobs through the API (distinct times), then 40 by SQL sharing one
# created_at, and 7 more sharing another, spread over users and statuses:
# the order within a shared time is job_id's alone.
$t->init_job($_ % 3 ? $alice : $bob, filename => "api$_.csv") for 1 .. 23;
$t->psql(<<'SQL');
INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, status, created_at, completed_at)
SELECT 'acme', CASE WHEN n % 2 = 0 THEN 'alice' ELSE 'bob' END, 'file_upload', 'same' || n || '.csv', 'csv', n,
       s::ingest_job_status, '2020-01-01 00:00:00.123456+00', CASE WHEN s = 'completed' THEN now() END
FROM generate_series(1, 40) n, LATERAL (SELECT CASE WHEN n % 3 = 0 THEN 'completed' ELSE 'pending' END AS s) x;
INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, created_at)
SELECT 'acme', 'alice', 'file_upload', 'tie' || n || '.csv', 'csv', n, '2021-06-01 12:00:00+00'
FROM generate_series(1, 7) n;
INSERT INTO ingest_jobs (tenant_id, user_id, source_type, filename, file_type, file_size, created_at)
SELECT 'other', 'eve', 'file_upload', 'o' || n || '.csv', 'csv', n, '2020-01-01 00:00:00.123456+00'
FROM generate_series(1, 5) n;
SQL

sub get {
    my ($query, $tok) = @_;
    my $r = $t->request('GET', "/api/ingest/jobs?$query", token => $tok // $alice);
    is($r->{status}, 200, "?$query: 200") or diag($r->{content});
    return $r->{json};
}

# every page by offset, and by cursor; both answer [ids], the pages' answers
sub walk_offset {
    my ($filter, $limit, $tok) = @_;
    my (@ids, $off);
    for ($off = 0;; $off += $limit) {
        my $p = get("limit=$limit&offset=$off$filter", $tok);
        push @ids, map { $_->{job_id} } @{ $p->{jobs} };
        last unless $p->{has_more};
    }
    return \@ids;
}

sub walk_cursor {
    my ($filter, $limit, $tok) = @_;
    my (@ids, @pages);
    my $p = get("limit=$limit$filter", $tok);
    while (1) {
        push @pages, $p;
        push @ids, map { $_->{job_id} } @{ $p->{jobs} };
        last unless defined $p->{next_cursor};
        last if @pages > 200;
        $p = get("limit=$limit&cursor=$p->{next_cursor}$filter", $tok);
    }
    return (\@ids, \@pages);
}

my $expect_all = [split /\n/, $t->psql("SELECT job_id FROM ingest_jobs WHERE tenant_id = 'acme' ORDER BY created_at DESC, job_id DESC")];
is(scalar @$expect_all, 70, '70 jobs in the tenant');

for my $case (['', 'alice', $alice], ['&status=completed', 'alice', $alice], ['&status=pending', 'alice', $alice],
    ['&user=me', 'alice', $alice], ['&user=me', 'bob', $bob], ['&user=me&status=completed', 'bob', $bob]) {
    my ($filter, $who, $tok) = @$case;
    my $where = "tenant_id = 'acme'";
    $where .= " AND status = '$1'" if $filter =~ /status=(\w+)/;
    $where .= " AND user_id = '$who'" if $filter =~ /user=me/;
    my $rows = [split /\n/, $t->psql("SELECT job_id FROM ingest_jobs WHERE $where ORDER BY created_at DESC, job_id DESC")];
    for my $limit (1, 7, 20, 100) {
        my $name = "filter '$filter' as $who, limit $limit";
        my $by_offset = walk_offset($filter, $limit, $tok);
        my ($by_cursor, $pages) = walk_cursor($filter, $limit, $tok);
        is_deeply($by_cursor, $by_offset, "$name: the cursor walk answers the offset walk's jobs, in its order");
        is_deeply($by_cursor, $rows, "$name: which are the rows, newest first, job_id breaking ties");
        my %seen;
        is(scalar(grep { $seen{$_}++ } @$by_cursor), 0, "$name: no job twice");
        my $last = $pages->[-1];
        ok(!defined $last->{next_cursor} && exists $last->{next_cursor}, "$name: the last page's next_cursor is null");
        ok(!$last->{has_more}, "$name: and has_more false");
        my @full = @$pages[0 .. $#$pages - 1];
        is(scalar(grep { @{ $_->{jobs} } != $limit || !$_->{has_more} || !defined $_->{next_cursor} } @full), 0,
            "$name: every other page is full, with has_more and a next_cursor");
        is(scalar(grep { $_->{total} != @$rows } @$pages), 0, "$name: every page's total is the filter's count");
        is(scalar(grep { defined $_->{offset} } @$pages[1 .. $#$pages]), 0, "$name: a page by cursor has offset null");
    }
}

# an exact multiple of the limit: the last full page says there is no more
my $p = get('limit=35');
$p = get("limit=35&cursor=$p->{next_cursor}");
is(scalar @{ $p->{jobs} }, 35, 'the second page of 35 of 70 is full');
ok(!defined $p->{next_cursor} && !$p->{has_more}, 'and the last: next_cursor null, has_more false');

# an offset page also answers the cursor of the page after it
$p = get('limit=5&offset=30');
my $q = get("limit=5&cursor=$p->{next_cursor}");
is_deeply([map { $_->{job_id} } @{ $q->{jobs} }], [@$expect_all[35 .. 39]], 'an offset page\'s next_cursor continues it');

# what the cursor is: base64url of <created_at with microseconds>~<job_id>
is(decode_base64url(get('limit=1&offset=23')->{next_cursor}), "2021-06-01T12:00:00.000000Z~$expect_all->[23]",
    'the cursor is base64url of <created_at>~<job_id>');
like(decode_base64url(get('limit=1&offset=30')->{next_cursor}), qr/^2020-01-01T00:00:00\.123456Z~/,
    'with microseconds');

# a cursor built by hand works as well: a client may resume from a job
$p = get('limit=3&cursor=' . encode_base64url("2020-01-01T00:00:00.123456Z~ffffffff-ffff-4fff-bfff-ffffffffffff"));
is_deeply([map { $_->{job_id} } @{ $p->{jobs} }], [@$expect_all[30 .. 32]], 'a cursor at a time answers the jobs from it');

# another tenant's cursor moves a position, never across tenants
my $other = get('limit=2', $eve);
is($other->{total}, 5, "eve's tenant has its 5");
$p = get("limit=100&cursor=$other->{next_cursor}");
is(scalar(grep { $_->{tenant_id} ne 'acme' } @{ $p->{jobs} }), 0, "another tenant's cursor shows only the caller's jobs");
$p = get("limit=100&cursor=" . get('limit=1')->{next_cursor}, $eve);
is_deeply([sort map { $_->{tenant_id} } @{ $p->{jobs} }], [('other') x 5], 'and the other way round');

# bad cursors: 422 naming cursor, with a detail that says what is wrong
my $good = get('limit=1')->{next_cursor};
# a cursor cut short (or edited) no longer reads as one; an edit that still
# reads as one is only another position among the caller's own jobs
my $tampered = encode_base64url(substr(decode_base64url($good), 0, -3));
for my $case (
    ['cursor=', 'cursor must not be empty'],
    ['cursor=%%%', undef],
    ['cursor=not*base64', 'cursor is not a cursor of this listing: not base64url'],
    ['cursor=' . ('A' x 129), 'cursor is not a cursor of this listing: longer than 128 characters'],
    ['cursor=' . encode_base64url('2020-01-01T00:00:00Z'), 'cursor is not a cursor of this listing: expected <created_at>~<job_id>'],
    ['cursor=' . encode_base64url('yesterday~' . $expect_all->[0]),
        'cursor is not a cursor of this listing: created_at is not an RFC 3339 time'],
    ['cursor=' . encode_base64url('2020-01-01T00:00:00Z~42'), 'cursor is not a cursor of this listing: job_id is not a UUID'],
    ["cursor=$tampered", 'cursor is not a cursor of this listing: job_id is not a UUID'],
    ["cursor=$good&offset=0", 'cursor cannot be given together with offset'],
    ["cursor=$good&cursor=$good", 'cursor must be given at most once'],
    ) {
    my ($query, $detail) = @$case;
    my $r = $t->request('GET', "/api/ingest/jobs?$query", token => $alice);
    if ($query =~ /%%%/) {
        problem_ok($r, 422, 'invalid-field', 'a cursor that is not %-encoded');
        next;
    }
    problem_ok($r, 422, 'invalid-field', "?$query");
    is($r->{json}{field}, 'cursor', "?$query names cursor");
    is($r->{json}{detail}, $detail, "?$query: $detail") if defined $detail;
    like($r->{json}{detail} // '', qr/^cursor (?:is not a cursor of this listing|must|cannot)/, "?$query: a precise detail");
}
is($t->psql("SELECT count(*) FROM ingest_jobs"), 75, 'bad cursors change nothing');

done_testing;

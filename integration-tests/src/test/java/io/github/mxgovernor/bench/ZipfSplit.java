package io.github.mxgovernor.bench;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * How a campaign's mails fall on its recipient domains under Zipf's law: the domain of rank {@code k} (from 1) gets a
 * share proportional to {@code 1 / k^s}. With {@code s = 1} and 2,000 domains the first takes about 12% of the mails
 * and the last 0.006%, as a real list's big providers and long tail of small domains do.
 */
final class ZipfSplit {
    private ZipfSplit() {
    }

    /**
     * The number of mails of each domain, by rank: the exact shares rounded by largest remainder (ties to the better
     * rank), so they add up to {@code mails}.
     *
     * @throws IllegalArgumentException when some domain would get no mail (too few mails, or too steep an exponent)
     */
    static int[] mailsPerDomain(int mails, int domains, double exponent) {
        if (mails < 1 || domains < 1) {
            throw new IllegalArgumentException("a Zipf split needs at least one mail and one domain, got " + mails
                + " mails over " + domains + " domains");
        }
        if (!(exponent >= 0) || Double.isInfinite(exponent)) {
            throw new IllegalArgumentException("a Zipf exponent must be 0 or more, got " + exponent);
        }
        double[] weights = new double[domains];
        double total = 0;
        for (int rank = 1; rank <= domains; rank++) {
            weights[rank - 1] = Math.pow(rank, -exponent);
            total += weights[rank - 1];
        }
        int[] counts = new int[domains];
        double[] remainders = new double[domains];
        int given = 0;
        for (int i = 0; i < domains; i++) {
            double exact = mails * weights[i] / total;
            counts[i] = (int) Math.floor(exact);
            remainders[i] = exact - counts[i];
            given += counts[i];
        }
        Integer[] byRemainder = IntStream.range(0, domains).boxed().toArray(Integer[]::new);
        Arrays.sort(byRemainder, Comparator.<Integer>comparingDouble(i -> -remainders[i]).thenComparing(i -> i));
        for (int i = 0; given < mails; i++) {
            counts[byRemainder[i]]++;
            given++;
        }
        if (counts[domains - 1] == 0) {
            throw new IllegalArgumentException("a Zipf share with exponent " + exponent + " gives no mail to the "
                + "domain of rank " + domains + " when " + mails + " mails go to " + domains + " domains: give more "
                + "mails, fewer domains or a smaller exponent");
        }
        return counts;
    }

    /**
     * The domain (by index, 0 for the first rank) of each mail: every domain as often as {@code mailsPerDomain} says,
     * in an order shuffled with {@code seed}, so that a queue holds the domains mixed as a real campaign's does.
     */
    static int[] domainOfEachMail(int[] mailsPerDomain, long seed) {
        int[] domains = new int[Arrays.stream(mailsPerDomain).sum()];
        int next = 0;
        for (int domain = 0; domain < mailsPerDomain.length; domain++) {
            Arrays.fill(domains, next, next + mailsPerDomain[domain], domain);
            next += mailsPerDomain[domain];
        }
        Random random = new Random(seed);
        for (int i = domains.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swapped = domains[i];
            domains[i] = domains[j];
            domains[j] = swapped;
        }
        return domains;
    }
}

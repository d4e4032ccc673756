// Prints the drift statistics for data sets given on stdin, one request per
// line, so that scipy_check.py can compare them with scipy. Numbers are
// printed with 17 significant digits; lists are comma-separated.
//
//   gamma A X                  -> P(a, x) Q(a, x)
//   chi2sf X DF                -> chi-square survival
//   normcrit P                 -> two-sided critical |z|
//   gof O,O,.. E,E,..          -> chi-square stat df p, G stat df p
//   homog A,A,.. B,B,..        -> homogeneity chi-square stat df p, G stat df p
//   dist A,A,.. B,B,..         -> psi js hellinger
//   wass X,X,.. A,A,.. B,B,..  -> wasserstein
//   bins B REF,.. WIN,..       -> the binning of WIN against a reference built
//                                 from REF ("nan" is null), then window stats
#include "drift/compare.hpp"
#include "drift/reference.hpp"
#include "drift/statistics.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace bulwark::drift;

std::vector<double> list(const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    out.push_back(item == "nan" ? std::nan("") : std::stod(item));
  return out;
}

void print(double v) {
  std::printf(" %.17g", v);
}

void print_list(const char* name, const std::vector<double>& v) {
  std::printf(" %s=", name);
  for (std::size_t i = 0; i < v.size(); ++i)
    std::printf(i ? ",%.17g" : "%.17g", v[i]);
}

} // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    if (op == "gamma") {
      double a = 0, x = 0;
      in >> a >> x;
      std::printf("gamma");
      print(regularized_gamma_p(a, x));
      print(regularized_gamma_q(a, x));
    } else if (op == "chi2sf") {
      double x = 0, df = 0;
      in >> x >> df;
      std::printf("chi2sf");
      print(chi_square_sf(x, df));
    } else if (op == "normcrit") {
      double p = 0;
      in >> p;
      std::printf("normcrit");
      print(normal_two_sided_critical(p));
    } else if (op == "gof" || op == "homog" || op == "dist") {
      std::string a, b;
      in >> a >> b;
      const auto va = list(a), vb = list(b);
      std::printf("%s", op.c_str());
      if (op == "dist") {
        print(population_stability_index(va, vb, 1e-4));
        print(jensen_shannon_distance(va, vb));
        print(hellinger_distance(va, vb));
      } else {
        const auto c = op == "gof" ? chi_square_test(va, vb) : homogeneity_test(va, vb);
        const auto g =
            op == "gof" ? g_test(va, vb) : homogeneity_test(va, vb, divergence::log_likelihood);
        for (const auto& t : {c, g}) {
          print(t.statistic);
          print(t.df);
          print(t.p);
        }
      }
    } else if (op == "wass") {
      std::string x, a, b;
      in >> x >> a >> b;
      std::printf("wass");
      print(wasserstein_distance(list(x), list(a), list(b)));
    } else if (op == "bins") {
      std::uint32_t bins = 0;
      std::string ref_text, win_text;
      in >> bins >> ref_text >> win_text;
      const reference ref = build_numeric(list(ref_text), bins);
      pane window(ref.slots());
      for (const double x : list(win_text)) {
        const placement p = ref.place(x);
        ++window.slots[p.slot];
        if (p.u >= 0) {
          ++window.u_n;
          window.u_sum += static_cast<std::uint64_t>(p.u);
        }
      }
      const window_stats s = compare(ref, window, 1e-4);
      std::printf("bins");
      print_list("cuts", ref.cuts);
      print_list("ref", {ref.counts.begin(), ref.counts.end()});
      print_list("win", {window.slots.begin(), window.slots.end()});
      print_list("upos", ref.u_positions());
      print_list("stats",
                 {ref.min, ref.max, ref.u_mean, s.u_mean, s.psi, s.js, s.hellinger, s.wasserstein_u,
                  s.chi2.statistic, s.chi2.df, s.chi2.p, s.g.statistic, s.g.p, s.z, s.z_p,
                  static_cast<double>(ref.u_n), static_cast<double>(s.u_n), ref.u_var});
    } else {
      std::printf("unknown");
    }
    std::printf("\n");
  }
  return 0;
}

//! The dense linear algebra of the layer lab, on row-major `f64` matrices.
//!
//! Matrix products go through `matrixmultiply` (ndarray's kernel crate: small, no other
//! dependencies, vectorised on x86-64 and portable on wasm32). The two factorizations GPTQ needs —
//! a Cholesky factor and the inverse of a triangular matrix — are written here rather than taken
//! from faer (which would bring ~140 crates into the page's WebAssembly for two functions); both
//! are blocked so their O(n³) work is `matrixmultiply`'s as well.

/// C (m×n, row stride `rsc`) ← β·C + α·A·B for A m×k and B k×n given by (pointer, row stride,
/// column stride). The caller guarantees that the three views lie inside their buffers and that
/// C does not overlap A or B.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: (*const f64, isize, isize),
    b: (*const f64, isize, isize),
    beta: f64,
    c: (*mut f64, isize),
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        matrixmultiply::dgemm(
            m, k, n, alpha, a.0, a.1, a.2, b.0, b.1, b.2, beta, c.0, c.1, 1,
        );
    }
}

/// A · Bᵀ for A (m×k) and B (n×k), both row-major: the m×n product, row-major.
pub fn mul_transposed(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    assert!(
        a.len() >= m * k && b.len() >= n * k,
        "mul_transposed: short input"
    );
    let mut c = vec![0.0; m * n];
    if m == 0 || n == 0 {
        return c;
    }
    // SAFETY: A is m×k with strides (k, 1), Bᵀ is k×n read from B with strides (1, k), C is a
    // fresh m×n buffer; the lengths were checked above.
    unsafe {
        gemm(
            m,
            k,
            n,
            1.0,
            (a.as_ptr(), k as isize, 1),
            (b.as_ptr(), 1, k as isize),
            0.0,
            (c.as_mut_ptr(), n as isize),
        );
    }
    c
}

/// Aᵀ · A for A (m×k) row-major: the k×k Gram matrix.
pub fn gram(a: &[f64], m: usize, k: usize) -> Vec<f64> {
    assert!(a.len() >= m * k, "gram: short input");
    let mut c = vec![0.0; k * k];
    if k == 0 {
        return c;
    }
    // SAFETY: Aᵀ is k×m read from A with strides (1, k); A is m×k with strides (k, 1).
    unsafe {
        gemm(
            k,
            m,
            k,
            1.0,
            (a.as_ptr(), 1, k as isize),
            (a.as_ptr(), k as isize, 1),
            0.0,
            (c.as_mut_ptr(), k as isize),
        );
    }
    c
}

/// C[.., ..] −= A · B where C is the `rows × cols` block of a row-major matrix with row length
/// `ldc` starting at `c_at`, A is `rows × k` (row-major, row length `lda`) and B is `k × cols`
/// (row-major, row length `ldb`), each starting at its offset. C must not overlap A or B.
#[allow(clippy::too_many_arguments)]
pub fn sub_mul(
    c: &mut [f64],
    c_at: usize,
    ldc: usize,
    a: &[f64],
    a_at: usize,
    lda: usize,
    b: &[f64],
    b_at: usize,
    ldb: usize,
    rows: usize,
    k: usize,
    cols: usize,
) {
    if rows == 0 || k == 0 || cols == 0 {
        return;
    }
    let last = |at: usize, ld: usize, r: usize, c: usize| at + (r - 1) * ld + c;
    assert!(
        last(c_at, ldc, rows, cols) <= c.len()
            && last(a_at, lda, rows, k) <= a.len()
            && last(b_at, ldb, k, cols) <= b.len(),
        "sub_mul: block outside its matrix"
    );
    // SAFETY: the three blocks lie inside their slices (checked above); `c` is borrowed mutably,
    // so it is a different buffer from `a` and `b`.
    unsafe {
        gemm(
            rows,
            k,
            cols,
            -1.0,
            (a.as_ptr().add(a_at), lda as isize, 1),
            (b.as_ptr().add(b_at), ldb as isize, 1),
            1.0,
            (c.as_mut_ptr().add(c_at), ldc as isize),
        );
    }
}

/// Panel width of the blocked factorizations.
const NB: usize = 64;

/// The lower Cholesky factor L of a symmetric positive-definite n×n matrix (A = L·Lᵀ), in place:
/// the lower triangle of `a` becomes L, the strict upper triangle is zeroed. `None` when a pivot
/// is not positive (A is not positive definite, or not finite).
///
/// Right-looking and blocked: factor a 64-wide diagonal block, solve the panel below it, and
/// subtract the panel's outer product from the trailing matrix with one matrix product.
pub fn cholesky_in_place(a: &mut [f64], n: usize) -> Option<()> {
    assert_eq!(a.len(), n * n, "cholesky: not n×n");
    let mut panel = Vec::new();
    for k0 in (0..n).step_by(NB) {
        let k1 = (k0 + NB).min(n);
        // The diagonal block, unblocked.
        for j in k0..k1 {
            let mut d = a[j * n + j];
            for m in k0..j {
                d -= a[j * n + m] * a[j * n + m];
            }
            if !(d > 0.0 && d.is_finite()) {
                return None;
            }
            let d = d.sqrt();
            a[j * n + j] = d;
            for i in j + 1..k1 {
                let mut s = a[i * n + j];
                for m in k0..j {
                    s -= a[i * n + m] * a[j * n + m];
                }
                a[i * n + j] = s / d;
            }
        }
        // The panel below: L21 = A21 · L11⁻ᵀ, row by row (forward substitution).
        for i in k1..n {
            for j in k0..k1 {
                let mut s = a[i * n + j];
                for m in k0..j {
                    s -= a[i * n + m] * a[j * n + m];
                }
                a[i * n + j] = s / a[j * n + j];
            }
        }
        // The trailing matrix: A22 −= L21 · L21ᵀ (its upper part too; zeroed at the end).
        let rest = n - k1;
        if rest > 0 {
            let w = k1 - k0;
            panel.clear();
            panel.reserve(rest * w);
            for i in k1..n {
                panel.extend_from_slice(&a[i * n + k0..i * n + k1]);
            }
            let mut panel_t = vec![0.0; w * rest];
            for (r, row) in panel.chunks_exact(w).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    panel_t[c * rest + r] = v;
                }
            }
            sub_mul(
                a,
                k1 * n + k1,
                n,
                &panel,
                0,
                w,
                &panel_t,
                0,
                rest,
                rest,
                w,
                rest,
            );
        }
    }
    for i in 0..n {
        a[i * n + i + 1..(i + 1) * n].fill(0.0);
    }
    Some(())
}

/// The inverse of a lower-triangular n×n matrix with a non-zero diagonal, row-major.
///
/// Row i of X = L⁻¹ is (eᵢ − Σ_{k<i} L[i,k]·X[k,·]) / L[i,i]: row by row within a 64-row block,
/// and the rows of earlier blocks enter through one matrix product per block.
pub fn lower_inverse(l: &[f64], n: usize) -> Vec<f64> {
    assert_eq!(l.len(), n * n, "lower_inverse: not n×n");
    let mut x = vec![0.0; n * n];
    for b0 in (0..n).step_by(NB) {
        let b1 = (b0 + NB).min(n);
        let w = b1 - b0;
        // S = L[b0..b1, 0..b0] · X[0..b0, 0..b0] (X is zero right of the diagonal).
        let mut s = vec![0.0; w * n];
        if b0 > 0 {
            let mut lb = vec![0.0; w * b0];
            for (r, i) in (b0..b1).enumerate() {
                lb[r * b0..(r + 1) * b0].copy_from_slice(&l[i * n..i * n + b0]);
            }
            let neg = {
                // sub_mul subtracts: start from 0 and negate after.
                let mut t = vec![0.0; w * b0];
                sub_mul(&mut t, 0, b0, &lb, 0, b0, &x, 0, n, w, b0, b0);
                t
            };
            for r in 0..w {
                s[r * n..r * n + b0].copy_from_slice(&neg[r * b0..(r + 1) * b0]);
            }
        }
        // Within the block: row i = (eᵢ + S_i − Σ_{b0≤k<i} L[i,k]·X[k,·]) / L[i,i], where S_i
        // already holds −Σ_{k<b0} L[i,k]·X[k,·].
        for (r, i) in (b0..b1).enumerate() {
            let mut row = s[r * n..(r + 1) * n].to_vec();
            row[i] += 1.0;
            for k in b0..i {
                let lik = l[i * n + k];
                if lik != 0.0 {
                    let (xk, _) = x.split_at(k * n + k + 1);
                    let xk = &xk[k * n..];
                    for (dst, &v) in row[..=k].iter_mut().zip(xk) {
                        *dst -= lik * v;
                    }
                }
            }
            let d = l[i * n + i];
            for v in &mut row[..=i] {
                *v /= d;
            }
            x[i * n..i * n + i + 1].copy_from_slice(&row[..=i]);
        }
    }
    x
}

/// The upper Cholesky factor U of A⁻¹ (A⁻¹ = Uᵀ·U) for a symmetric positive-definite n×n matrix,
/// which GPTQ reads its updates from. PyTorch's reference computes it as
/// `cholesky(cholesky_inverse(cholesky(A)), upper=True)`; here with one factorization: with P the
/// order-reversing permutation and P·A·P = L'·L'ᵀ, A⁻¹ = (P·L'⁻ᵀ·P)(P·L'⁻¹·P), and U = P·L'⁻¹·P
/// is upper triangular with a positive diagonal — the unique upper factor.
pub fn inverse_upper_cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut r = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            r[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)];
        }
    }
    cholesky_in_place(&mut r, n)?;
    let inv = lower_inverse(&r, n);
    let mut u = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            u[i * n + j] = inv[(n - 1 - i) * n + (n - 1 - j)];
        }
    }
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize, seed: u64) -> Vec<f64> {
        // B·Bᵀ + n·I from a deterministic B.
        let b: Vec<f64> = (0..n * n)
            .map(|i| (((i as u64 * 2_654_435_761 + seed) % 1000) as f64 / 500.0) - 1.0)
            .collect();
        let mut a = mul_transposed(&b, &b, n, n, n);
        for i in 0..n {
            a[i * n + i] += n as f64;
        }
        a
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn gram_and_products_match_the_definition() {
        let (m, k) = (5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 - 4.0).collect();
        let g = gram(&a, m, k);
        for i in 0..k {
            for j in 0..k {
                let want: f64 = (0..m).map(|t| a[t * k + i] * a[t * k + j]).sum();
                assert_eq!(g[i * k + j], want);
            }
        }
    }

    #[test]
    fn cholesky_reproduces_the_matrix_across_panel_edges() {
        for n in [1, 2, 63, 64, 65, 150] {
            let a = spd(n, 7);
            let mut l = a.clone();
            cholesky_in_place(&mut l, n).unwrap_or_else(|| panic!("not SPD at n={n}"));
            let back = mul_transposed(&l, &l, n, n, n);
            assert!(max_abs_diff(&back, &a) < 1e-9 * n as f64, "n={n}");
            for i in 0..n {
                assert!(l[i * n + i + 1..(i + 1) * n].iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn cholesky_refuses_an_indefinite_matrix() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(cholesky_in_place(&mut a, 2).is_none());
        let mut nan = vec![f64::NAN];
        assert!(cholesky_in_place(&mut nan, 1).is_none());
    }

    #[test]
    fn lower_inverse_is_the_inverse() {
        for n in [1, 5, 64, 130] {
            let mut l = spd(n, 3);
            cholesky_in_place(&mut l, n).unwrap_or_else(|| panic!("SPD"));
            let x = lower_inverse(&l, n);
            // L · X = I: (L · X)[i][j] = Σ_k L[i,k] X[k,j]; X is lower, so via Xᵀ rows.
            let mut xt = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    xt[j * n + i] = x[i * n + j];
                }
            }
            let p = mul_transposed(&l, &xt, n, n, n);
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((p[i * n + j] - want).abs() < 1e-10, "n={n} ({i},{j})");
                }
            }
        }
    }

    #[test]
    fn inverse_upper_cholesky_gives_the_inverse_and_is_upper() {
        for n in [1, 7, 100] {
            let a = spd(n, 11);
            let u = inverse_upper_cholesky(&a, n).unwrap_or_else(|| panic!("SPD"));
            for i in 0..n {
                assert!(u[i * n + i] > 0.0);
                assert!(u[i * n..i * n + i].iter().all(|&v| v == 0.0));
            }
            // Uᵀ·U·A = I.
            let mut ut = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    ut[j * n + i] = u[i * n + j];
                }
            }
            let inv = mul_transposed(&ut, &ut, n, n, n); // Uᵀ (Uᵀ)ᵀ = Uᵀ U
            let p = mul_transposed(&inv, &a, n, n, n); // A symmetric: A = Aᵀ
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((p[i * n + j] - want).abs() < 1e-9, "n={n} ({i},{j})");
                }
            }
        }
    }
}
